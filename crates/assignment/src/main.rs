//! `ileaps-assignment`: the assignment service on its own, as deployed.

use contract::Service;
use service_kit::app::{ServiceDef, main_for};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(ServiceDef {
        service: Service::Assignment,
        migrations: &assignment::MIGRATIONS,
        start: std::sync::Arc::new(assignment::start),
    })
    .await
}
