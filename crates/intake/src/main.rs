//! `ileaps-intake`: the intake service on its own, as deployed.

use contract::Service;
use service_kit::app::{ServiceDef, main_for};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(ServiceDef {
        service: Service::Intake,
        migrations: &intake::MIGRATIONS,
        start: std::sync::Arc::new(intake::start),
    })
    .await
}
