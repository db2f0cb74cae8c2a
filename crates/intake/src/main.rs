//! `ileaps-intake`: the intake service on its own, as deployed.

use service_kit::app::main_for;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(intake::service()).await
}
