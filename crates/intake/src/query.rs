//! The status query: a city asks on `ileaps.query.<city>.enquiry` about one of
//! its enquiries. The city is read from the subject (which NATS only lets that
//! city publish on), so a city can only ever see its own.

use crate::store;
use async_nats::service::ServiceExt;
use contract::proto::query::v1::{EnquiryStatus, EnquiryStatusReply, QueryError, QueryErrorReply};
use contract::{CityCode, subjects};
use futures::StreamExt;
use serde::Deserialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::warn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    reference: String,
}

/// The reply body for one query.
pub async fn answer(pool: &PgPool, subject: &str, body: &[u8]) -> serde_json::Value {
    match lookup(pool, subject, body).await {
        Ok(reply) => serde_json::to_value(reply).unwrap_or_default(),
        Err(error) => {
            serde_json::to_value(QueryErrorReply { error: Some(error) }).unwrap_or_default()
        }
    }
}

fn error(code: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        code: code.to_owned(),
        message: message.into(),
    }
}

async fn lookup(
    pool: &PgPool,
    subject: &str,
    body: &[u8],
) -> Result<EnquiryStatusReply, QueryError> {
    let city = subjects::city_of_query(subject)
        .and_then(|c| CityCode::parse(c).ok())
        .ok_or_else(|| {
            error(
                "MALFORMED",
                "the subject must be ileaps.query.<city>.enquiry",
            )
        })?;
    let request: Request = serde_json::from_slice(body).map_err(|e| {
        error(
            "MALFORMED",
            format!("expected {{\"reference\": \"...\"}}: {e}"),
        )
    })?;
    let mut conn = pool.acquire().await.map_err(|_| {
        error(
            "UNAVAILABLE",
            "the programme cannot answer just now; try again",
        )
    })?;
    let unavailable = |_| {
        error(
            "UNAVAILABLE",
            "the programme cannot answer just now; try again",
        )
    };
    if let Some(enquiry) = store::find_enquiry(&mut conn, city.as_str(), &request.reference)
        .await
        .map_err(unavailable)?
    {
        let status =
            EnquiryStatus::from_str_name(&enquiry.status).unwrap_or(EnquiryStatus::Received);
        return Ok(EnquiryStatusReply {
            reference: request.reference,
            enquiry_id: enquiry.id.to_string(),
            status: status.into(),
            workshop_id: enquiry.workshop_id,
            detail: enquiry.status_detail,
        });
    }
    if let Some((_, reasons)) =
        store::latest_rejection(&mut conn, city.as_str(), &request.reference)
            .await
            .map_err(unavailable)?
    {
        let codes: Vec<String> = reasons
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["code"].as_str().map(str::to_owned))
            .collect();
        return Ok(EnquiryStatusReply {
            reference: request.reference,
            enquiry_id: String::new(),
            status: EnquiryStatus::Rejected.into(),
            workshop_id: None,
            detail: Some(codes.join(", ")),
        });
    }
    Err(error(
        "UNKNOWN_ENQUIRY",
        "no enquiry with this reference from this city",
    ))
}

/// Serves status queries as the NATS micro service `ileaps-intake-query`
/// until `shutdown`. Replicas share the work through the queue group.
pub async fn serve(
    client: async_nats::Client,
    pool: PgPool,
    shutdown: CancellationToken,
) -> Result<(), async_nats::Error> {
    let service = client
        .service_builder()
        .description("Status of a city's enquiries")
        .start("ileaps-intake-query", env!("CARGO_PKG_VERSION"))
        .await?;
    let mut endpoint = service
        .endpoint_builder()
        .name("enquiry-status")
        .add(subjects::QUERY_ENQUIRY_ALL)
        .await?;
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => break,
            request = endpoint.next() => request,
        };
        let Some(request) = request else { break };
        let pool = pool.clone();
        tokio::spawn(async move {
            let reply = answer(
                &pool,
                request.message.subject.as_str(),
                &request.message.payload,
            )
            .await;
            if let Err(error) = request.respond(Ok(reply.to_string().into())).await {
                warn!(%error, "could not answer a status query");
            }
        });
    }
    let _ = service.stop().await;
    Ok(())
}
