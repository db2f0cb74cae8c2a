//! Stream names and subjects of `CONTRACT.md`. Binding: cities and integrators
//! build against these names.

use crate::city::CityCode;
use crate::envelope::Service;

pub const STREAM_INBOUND: &str = "ILEAPS_INBOUND";
pub const STREAM_EVENTS: &str = "ILEAPS_EVENTS";
pub const STREAM_INTERNAL: &str = "ILEAPS_INTERNAL";
pub const STREAM_OUTBOUND: &str = "ILEAPS_OUTBOUND";
pub const STREAM_DLQ: &str = "ILEAPS_DLQ";

/// What each stream captures. The inbound stream takes everything under
/// `ileaps.inbound.>` so a city's message on a wrong subject still gets an
/// outcome instead of vanishing.
pub const INBOUND_ALL: &str = "ileaps.inbound.>";
pub const EVENTS_ALL: &str = "ileaps.events.>";
pub const INTERNAL_ALL: &str = "ileaps.internal.>";
pub const OUTBOUND_ALL: &str = "ileaps.outbound.>";
pub const DLQ_ALL: &str = "ileaps.dlq.>";

pub const ENQUIRY_RECEIVED: &str = "ileaps.events.enquiry.received";
pub const ENQUIRY_REJECTED: &str = "ileaps.events.enquiry.rejected";
pub const ENQUIRY_WITHDRAWN: &str = "ileaps.events.enquiry.withdrawn";
pub const WORKSHOP_SCHEDULED: &str = "ileaps.events.workshop.scheduled";
pub const WORKSHOP_RESCHEDULED: &str = "ileaps.events.workshop.rescheduled";
pub const WORKSHOP_CANCELLED: &str = "ileaps.events.workshop.cancelled";
pub const WORKSHOP_UNSCHEDULABLE: &str = "ileaps.events.workshop.unschedulable";
pub const ASSIGNMENT_MADE: &str = "ileaps.events.assignment.made";
pub const ASSIGNMENT_UNFILLED: &str = "ileaps.events.assignment.unfilled";
pub const ASSIGNMENT_RELEASED: &str = "ileaps.events.assignment.released";
pub const NOTIFICATION_DELIVERED: &str = "ileaps.events.notification.delivered";
pub const NOTIFICATION_FAILED: &str = "ileaps.events.notification.failed";

pub const INTERNAL_ENQUIRY_CONTACT: &str = "ileaps.internal.enquiry.contact";
pub const INTERNAL_EXPERT_CONTACT: &str = "ileaps.internal.expert.contact";

/// Assignment's roster and live holds as scheduling plans with them. One
/// prefix for both, holding no personal data: a consumer has one filter
/// subject (nats-server 2.9), so scheduling reads exactly this and never
/// the contacts beside it on `ileaps.internal.>`.
pub const INTERNAL_ROSTER_ALL: &str = "ileaps.internal.roster.>";
/// `ileaps.expert.profile.v1`: one expert's planning profile.
pub const INTERNAL_ROSTER_PROFILE: &str = "ileaps.internal.roster.profile";
/// `ileaps.assignment.holds.v1`: one workshop's committed holds, whole.
pub const INTERNAL_ROSTER_HOLDS: &str = "ileaps.internal.roster.holds";

/// `ileaps.inbound.<city>.enquiry`: where a city publishes.
pub fn inbound_enquiry(city: &CityCode) -> String {
    format!("ileaps.inbound.{city}.enquiry")
}

/// The `<city>` token of an inbound subject, if the subject has the contract's
/// shape `ileaps.inbound.<city>.enquiry`.
pub fn city_of_inbound(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("ileaps.inbound.")?;
    rest.strip_suffix(".enquiry")
        .filter(|city| !city.contains('.'))
}

/// `ileaps.query.<city>.enquiry`: a city's status query.
pub fn query_enquiry(city: &CityCode) -> String {
    format!("ileaps.query.{city}.enquiry")
}

/// Every city's status queries, for the service that answers them.
pub const QUERY_ENQUIRY_ALL: &str = "ileaps.query.*.enquiry";

/// The `<city>` token of a query subject.
pub fn city_of_query(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("ileaps.query.")?;
    rest.strip_suffix(".enquiry")
        .filter(|city| !city.contains('.'))
}

/// `ileaps.outbound.<city>.<what>`: a city's own feed.
pub fn outbound(city: &CityCode, what: &str) -> String {
    format!("ileaps.outbound.{city}.{what}")
}

/// `ileaps.dlq.<service>`.
pub fn dlq(service: Service) -> String {
    format!("ileaps.dlq.{}", service.name())
}

/// `ileaps.admin.<service>`: the prefix of a service's operator commands.
pub fn admin_prefix(service: Service) -> String {
    format!("ileaps.admin.{}", service.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_subjects_round_trip_the_city() {
        let city = CityCode::parse("makassar").unwrap();
        let subject = inbound_enquiry(&city);
        assert_eq!(subject, "ileaps.inbound.makassar.enquiry");
        assert_eq!(city_of_inbound(&subject), Some("makassar"));
    }

    #[test]
    fn subjects_of_another_shape_have_no_city() {
        assert_eq!(city_of_inbound("ileaps.inbound.a.b.enquiry"), None);
        assert_eq!(city_of_inbound("ileaps.inbound.makassar.other"), None);
        assert_eq!(
            city_of_query("ileaps.query.colombo.enquiry"),
            Some("colombo")
        );
    }
}
