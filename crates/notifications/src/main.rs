//! `ileaps-notifications`: the notifications service on its own, as deployed.

use contract::Service;
use service_kit::app::{ServiceDef, main_for};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    main_for(ServiceDef {
        service: Service::Notifications,
        migrations: &notifications::MIGRATIONS,
        start: std::sync::Arc::new(notifications::start),
    })
    .await
}
