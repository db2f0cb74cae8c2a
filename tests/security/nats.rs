//! Who may do what on NATS (CONTRACT.md, "Who may do what"), tried against
//! a real nats-server running `deploy/nats/nats.conf`.

use crate::support::{AuthNats, DEADLINE, provision_streams_as};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use contract::subjects;
use futures::StreamExt as _;
use test_support::StreamReader;

const OUTBOUND: &str = subjects::STREAM_OUTBOUND;

/// A city's durable pull consumer on its feed, as `auth.conf` names it.
fn feed_consumer(city: &str, filter_city: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(format!("city-{city}")),
        filter_subject: format!("ileaps.outbound.{filter_city}.>"),
        ack_policy: AckPolicy::Explicit,
        deliver_policy: DeliverPolicy::All,
        ..Default::default()
    }
}

#[tokio::test]
async fn nobody_gets_in_without_a_user_and_its_password() {
    let nats = AuthNats::start().await;
    assert!(
        async_nats::connect(nats.url()).await.is_err(),
        "an anonymous client was let in"
    );
    assert!(
        nats.connect_with("city-makassar", "not-its-password")
            .await
            .is_err(),
        "a wrong password was accepted"
    );
    assert!(
        nats.connect_with("city-nowhere", "test-city-nowhere-s3cret")
            .await
            .is_err(),
        "an unknown user was let in"
    );
}

#[tokio::test]
async fn a_city_publishes_under_its_own_code_and_is_refused_under_another() {
    let nats = AuthNats::start().await;
    provision_streams_as(&nats.connect("intake").await).await;
    let mut makassar = nats.connect("city-makassar").await;

    // Its own enquiries land in ILEAPS_INBOUND (the JetStream ack says so).
    makassar.js_publish("ileaps.inbound.makassar.enquiry").await;
    makassar
        .client
        .publish("ileaps.query.makassar.enquiry", "{}".into())
        .await
        .expect("publish");

    // Another city's subjects, and anything else, are refused by the server.
    makassar
        .publish_is_refused("ileaps.inbound.colombo.enquiry")
        .await;
    makassar
        .publish_is_refused("ileaps.query.colombo.enquiry")
        .await;
    makassar
        .publish_is_refused("ileaps.events.enquiry.received")
        .await;
    makassar
        .publish_is_refused("ileaps.outbound.makassar.received")
        .await;
    makassar
        .publish_is_refused("ileaps.admin.intake.cities.list")
        .await;
    makassar.publish_is_refused("ileaps.dlq.intake").await;
    makassar
        .publish_is_refused("$JS.API.STREAM.PURGE.ILEAPS_INBOUND")
        .await;

    // And nothing of colombo's arrived: the stream holds makassar's only.
    let operator = nats.connect("operator").await;
    let mut inbound = operator
        .js
        .get_stream(subjects::STREAM_INBOUND)
        .await
        .expect("the inbound stream");
    let state = inbound.info().await.expect("stream info").state.clone();
    assert_eq!(state.messages, 1, "{state:?}");
    assert!(
        inbound
            .get_last_raw_message_by_subject("ileaps.inbound.colombo.enquiry")
            .await
            .is_err(),
        "a message of makassar's landed under colombo's code"
    );
}

#[tokio::test]
async fn a_city_reads_its_own_feed_and_never_another_citys() {
    let nats = AuthNats::start().await;
    provision_streams_as(&nats.connect("notifications").await).await;
    let notifications = nats.connect("notifications").await;
    notifications
        .js_publish("ileaps.outbound.makassar.received")
        .await;
    notifications
        .js_publish("ileaps.outbound.colombo.received")
        .await;

    let mut makassar = nats.connect("city-makassar").await;
    let colombo = nats.connect("city-colombo").await;

    // Its own durable consumer, filtered to its own feed, and what it reads.
    let own = makassar
        .js
        .create_consumer_on_stream(feed_consumer("makassar", "makassar"), OUTBOUND)
        .await
        .expect("makassar creates its own feed consumer");
    let mut batch = own
        .fetch()
        .max_messages(10)
        .expires(std::time::Duration::from_secs(1))
        .messages()
        .await
        .expect("makassar pulls from its own consumer");
    let mut read = Vec::new();
    while let Some(message) = batch.next().await {
        let message = message.expect("a message");
        read.push(message.subject.to_string());
        message.ack().await.expect("makassar acks its own messages");
    }
    assert_eq!(read, ["ileaps.outbound.makassar.received"]);

    // Colombo's consumer exists; makassar may neither read from it nor look
    // at it, nor make one of its own that sees colombo's feed.
    colombo
        .js
        .create_consumer_on_stream(feed_consumer("colombo", "colombo"), OUTBOUND)
        .await
        .expect("colombo creates its own feed consumer");
    let stolen = makassar
        .js
        .get_consumer_from_stream::<pull::Config, _, _>("city-colombo", OUTBOUND)
        .await;
    assert!(stolen.is_err(), "makassar could look at colombo's consumer");
    makassar
        .refused(
            "publish",
            "$JS.API.CONSUMER.INFO.ILEAPS_OUTBOUND.city-colombo",
        )
        .await;
    makassar
        .publish_is_refused("$JS.API.CONSUMER.MSG.NEXT.ILEAPS_OUTBOUND.city-colombo")
        .await;

    let widened = makassar
        .js
        .create_consumer_on_stream(feed_consumer("makassar", "colombo"), OUTBOUND)
        .await;
    assert!(
        widened.is_err(),
        "makassar's consumer could be turned to colombo's feed"
    );
    makassar
        .refused(
            "publish",
            "$JS.API.CONSUMER.CREATE.ILEAPS_OUTBOUND.city-makassar.ileaps.outbound.colombo.>",
        )
        .await;
    let everything = makassar
        .js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("city-makassar".to_owned()),
                ..Default::default()
            },
            OUTBOUND,
        )
        .await;
    assert!(everything.is_err(), "makassar made an unfiltered consumer");
    makassar
        .refused(
            "publish",
            "$JS.API.CONSUMER.CREATE.ILEAPS_OUTBOUND.city-makassar",
        )
        .await;

    // Not the feed itself, nor anyone's inbox (replies and pulled messages).
    makassar
        .subscribe_is_refused("ileaps.outbound.colombo.>")
        .await;
    makassar
        .subscribe_is_refused("ileaps.outbound.makassar.>")
        .await;
    makassar.subscribe_is_refused("_INBOX.>").await;
    makassar.subscribe_is_refused("_INBOX.city-colombo.>").await;
    makassar.subscribe_is_refused("ileaps.events.>").await;
    makassar
        .publish_is_refused("$JS.API.STREAM.INFO.ILEAPS_OUTBOUND")
        .await;
}

#[tokio::test]
async fn an_integrator_reads_the_programme_events_and_publishes_nothing() {
    let nats = AuthNats::start().await;
    let intake = nats.connect("intake").await;
    provision_streams_as(&intake).await;
    intake.js_publish(subjects::ENQUIRY_RECEIVED).await;

    // Reads (and replays from the start) with consumers of its own: an
    // ordered one, as test-support's reader makes, and a durable one.
    let mut integrator = nats.connect("integrator").await;
    let mut reader = StreamReader::new(
        &integrator.js,
        subjects::STREAM_EVENTS,
        subjects::EVENTS_ALL,
    )
    .await;
    assert_eq!(
        reader.next(DEADLINE).await.subject.as_str(),
        subjects::ENQUIRY_RECEIVED
    );
    let durable = integrator
        .js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("partner-dashboard".to_owned()),
                filter_subject: "ileaps.events.enquiry.>".to_owned(),
                ..Default::default()
            },
            subjects::STREAM_EVENTS,
        )
        .await
        .expect("the integrator creates a durable consumer of its own");
    let mut batch = durable
        .fetch()
        .max_messages(5)
        .expires(std::time::Duration::from_secs(1))
        .messages()
        .await
        .expect("the integrator pulls");
    let first = batch.next().await.expect("one event").expect("a message");
    first.ack().await.expect("the integrator acks its own");

    // No publishing of its own, anywhere.
    for subject in [
        subjects::ENQUIRY_RECEIVED,
        "ileaps.events.integrator.says",
        "ileaps.inbound.makassar.enquiry",
        "ileaps.query.makassar.enquiry",
        "ileaps.internal.enquiry.contact",
        subjects::INTERNAL_ROSTER_PROFILE,
        subjects::INTERNAL_ROSTER_HOLDS,
        "ileaps.outbound.makassar.received",
        "ileaps.admin.intake.cities.list",
        "ileaps.dlq.intake",
        "anything.at.all",
        "$JS.API.STREAM.CREATE.INTEGRATOR",
        "$JS.API.STREAM.DELETE.ILEAPS_EVENTS",
        "$JS.API.STREAM.PURGE.ILEAPS_EVENTS",
        "$JS.API.STREAM.INFO.ILEAPS_INTERNAL",
        "$JS.API.CONSUMER.CREATE.ILEAPS_INTERNAL",
        "$JS.API.CONSUMER.CREATE.ILEAPS_INTERNAL.scheduling-roster.ileaps.internal.roster.>",
        "$JS.API.CONSUMER.MSG.NEXT.ILEAPS_INTERNAL.scheduling-roster",
    ] {
        integrator.publish_is_refused(subject).await;
    }
    for subject in [
        "ileaps.events.>",
        "ileaps.internal.>",
        subjects::INTERNAL_ROSTER_ALL,
        "_INBOX.>",
        ">",
    ] {
        integrator.subscribe_is_refused(subject).await;
    }

    // Nor taking work from the services' own consumers on the stream.
    for consumer in [
        intake::progress::CONSUMER,
        scheduling::CONSUMER,
        assignment::CONSUMER,
        notifications::handlers::EVENTS_CONSUMER,
    ] {
        integrator
            .publish_is_refused(&format!(
                "$JS.API.CONSUMER.MSG.NEXT.ILEAPS_EVENTS.{consumer}"
            ))
            .await;
        integrator
            .publish_is_refused(&format!("$JS.API.CONSUMER.DELETE.ILEAPS_EVENTS.{consumer}"))
            .await;
        integrator
            .publish_is_refused(&format!("$JS.ACK.ILEAPS_EVENTS.{consumer}.1.1.1.1.1"))
            .await;
        integrator
            .publish_is_refused(&format!(
                "$JS.API.CONSUMER.CREATE.ILEAPS_EVENTS.{consumer}.ileaps.events.>"
            ))
            .await;
    }

    // Only the one event the service published is in the stream.
    let mut events = nats
        .connect("operator")
        .await
        .js
        .get_stream(subjects::STREAM_EVENTS)
        .await
        .expect("the events stream");
    let state = events.info().await.expect("stream info").state.clone();
    assert_eq!(state.messages, 1, "{state:?}");
}

/// What each service emits (CONTRACT.md), one subject each.
const OUTPUTS: [(&str, &[&str]); 4] = [
    (
        "intake",
        &[
            subjects::ENQUIRY_RECEIVED,
            subjects::ENQUIRY_REJECTED,
            subjects::ENQUIRY_WITHDRAWN,
            subjects::INTERNAL_ENQUIRY_CONTACT,
            "ileaps.dlq.intake",
        ],
    ),
    (
        "scheduling",
        &[
            subjects::WORKSHOP_SCHEDULED,
            subjects::WORKSHOP_RESCHEDULED,
            subjects::WORKSHOP_CANCELLED,
            subjects::WORKSHOP_UNSCHEDULABLE,
            "ileaps.dlq.scheduling",
        ],
    ),
    (
        "assignment",
        &[
            subjects::ASSIGNMENT_MADE,
            subjects::ASSIGNMENT_UNFILLED,
            subjects::ASSIGNMENT_RELEASED,
            subjects::INTERNAL_EXPERT_CONTACT,
            subjects::INTERNAL_ROSTER_PROFILE,
            subjects::INTERNAL_ROSTER_HOLDS,
            "ileaps.dlq.assignment",
        ],
    ),
    (
        "notifications",
        &[
            subjects::NOTIFICATION_DELIVERED,
            subjects::NOTIFICATION_FAILED,
            "ileaps.outbound.makassar.received",
            "ileaps.outbound.colombo.workshop.confirmed",
            "ileaps.dlq.notifications",
        ],
    ),
];

#[tokio::test]
async fn each_service_publishes_its_outputs_and_not_a_citys_or_anothers_dead_letters() {
    let nats = AuthNats::start().await;
    for (service, outputs) in OUTPUTS {
        let mut peer = nats.connect(service).await;
        provision_streams_as(&peer).await;
        for subject in outputs {
            peer.js_publish(subject).await;
        }
        // A city's enquiry (intake alone may publish one again, replaying
        // its dead letters) and another service's events.
        if service != "intake" {
            peer.publish_is_refused("ileaps.inbound.makassar.enquiry")
                .await;
        }
        if service != "notifications" {
            peer.publish_is_refused(subjects::NOTIFICATION_DELIVERED)
                .await;
        }
        for other in ["intake", "scheduling", "assignment", "notifications"] {
            if other != service {
                peer.publish_is_refused(&format!("ileaps.dlq.{other}"))
                    .await;
            }
        }
        if service != "notifications" {
            peer.publish_is_refused("ileaps.outbound.makassar.received")
                .await;
        }
        peer.publish_is_refused("$JS.API.STREAM.DELETE.ILEAPS_EVENTS")
            .await;
    }
    let mut dlq = nats
        .connect("operator")
        .await
        .js
        .get_stream(subjects::STREAM_DLQ)
        .await
        .expect("the dead-letter stream");
    assert_eq!(dlq.info().await.expect("info").state.messages, 4);
}

/// The internal consumer scheduling's code creates, as `auth.conf` pins it.
fn roster_consumer(name: &str, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        filter_subject: filter.to_owned(),
        ack_policy: AckPolicy::Explicit,
        deliver_policy: DeliverPolicy::All,
        ..Default::default()
    }
}

#[tokio::test]
async fn scheduling_reads_the_roster_on_the_internal_stream_and_never_the_contacts_beside_it() {
    let nats = AuthNats::start().await;
    let assignment = nats.connect("assignment").await;
    provision_streams_as(&assignment).await;
    // Assignment publishes the roster's profiles and holds, and experts'
    // addresses; intake a city's contact: all on ILEAPS_INTERNAL.
    assignment
        .js_publish(subjects::INTERNAL_ROSTER_PROFILE)
        .await;
    assignment.js_publish(subjects::INTERNAL_ROSTER_HOLDS).await;
    assignment
        .js_publish(subjects::INTERNAL_EXPERT_CONTACT)
        .await;
    nats.connect("intake")
        .await
        .js_publish(subjects::INTERNAL_ENQUIRY_CONTACT)
        .await;

    // Scheduling's own consumer, under the name its code uses, reads the
    // roster's two messages and nothing else.
    let mut scheduling = nats.connect("scheduling").await;
    let internal = subjects::STREAM_INTERNAL;
    let own = scheduling
        .js
        .create_consumer_on_stream(
            roster_consumer(scheduling::roster::CONSUMER, subjects::INTERNAL_ROSTER_ALL),
            internal,
        )
        .await
        .expect("scheduling creates its roster consumer");
    let mut batch = own
        .fetch()
        .max_messages(10)
        .expires(std::time::Duration::from_secs(1))
        .messages()
        .await
        .expect("scheduling pulls from its roster consumer");
    let mut read = Vec::new();
    while let Some(message) = batch.next().await {
        let message = message.expect("a message");
        read.push(message.subject.to_string());
        message
            .ack()
            .await
            .expect("scheduling acks its own messages");
    }
    assert_eq!(
        read,
        [
            subjects::INTERNAL_ROSTER_PROFILE,
            subjects::INTERNAL_ROSTER_HOLDS
        ]
    );

    // The same consumer widened to the contacts, another consumer, an
    // ephemeral one, a direct read of the stream or a plain subscription:
    // all refused, so the contacts never reach scheduling.
    for (name, filter) in [
        (scheduling::roster::CONSUMER, subjects::INTERNAL_ALL),
        (
            scheduling::roster::CONSUMER,
            subjects::INTERNAL_ENQUIRY_CONTACT,
        ),
        ("scheduling-contacts", subjects::INTERNAL_ROSTER_ALL),
    ] {
        let widened = scheduling
            .js
            .create_consumer_on_stream(roster_consumer(name, filter), internal)
            .await;
        assert!(
            widened.is_err(),
            "scheduling made consumer {name} on {filter}"
        );
    }
    for subject in [
        "$JS.API.CONSUMER.CREATE.ILEAPS_INTERNAL.scheduling-roster.ileaps.internal.>",
        "$JS.API.CONSUMER.CREATE.ILEAPS_INTERNAL",
        "$JS.API.CONSUMER.DURABLE.CREATE.ILEAPS_INTERNAL.scheduling-roster",
        "$JS.API.CONSUMER.MSG.NEXT.ILEAPS_INTERNAL.notifications-contacts",
        "$JS.API.STREAM.MSG.GET.ILEAPS_INTERNAL",
        "$JS.API.DIRECT.GET.ILEAPS_INTERNAL",
        subjects::INTERNAL_ENQUIRY_CONTACT,
        subjects::INTERNAL_EXPERT_CONTACT,
    ] {
        scheduling.publish_is_refused(subject).await;
    }
    scheduling
        .subscribe_is_refused(subjects::INTERNAL_ALL)
        .await;
    scheduling
        .subscribe_is_refused(subjects::INTERNAL_ROSTER_ALL)
        .await;

    // A city sees none of it either.
    let mut makassar = nats.connect("city-makassar").await;
    makassar
        .publish_is_refused(
            "$JS.API.CONSUMER.CREATE.ILEAPS_INTERNAL.scheduling-roster.ileaps.internal.roster.>",
        )
        .await;
    makassar
        .subscribe_is_refused(subjects::INTERNAL_ROSTER_ALL)
        .await;
}
