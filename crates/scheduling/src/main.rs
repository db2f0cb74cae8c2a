//! `ileaps-scheduling`: the scheduling service on its own, as deployed.

use contract::Service;
use service_kit::app::{ServiceDef, main_for};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(ServiceDef {
        service: Service::Scheduling,
        migrations: &scheduling::MIGRATIONS,
        start: std::sync::Arc::new(scheduling::start),
    })
    .await
}
