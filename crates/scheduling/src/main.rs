//! `ileaps-scheduling`: the scheduling service on its own, as deployed.

use service_kit::app::main_for;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(scheduling::service()).await
}
