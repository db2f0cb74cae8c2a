//! `docs/integrators.md` made true.
//!
//! - The two integrator examples, `tests/examples/integrator.rs` (async-nats)
//!   and `docs/examples/integrator.py` (nats-py), read `ILEAPS_EVENTS` from
//!   the start with a durable consumer, print exactly the programme events
//!   published, in order, and acknowledge them: the next run of the same
//!   consumer goes on where the last one stopped. They do the same as the
//!   deployment's read-only `integrator` user, on a nats-server running
//!   `deploy/nats/`.
//! - The guide's example body of every programme event, and every example of
//!   `docs/asyncapi.yaml`, is what the contract's generated types read and
//!   write (proto3 JSON); the AsyncAPI schemas name exactly the fields and
//!   enum values of `proto/`, and its channels the subjects of
//!   `contract::subjects`.
//!
//! The Python example needs nats-py: the test installs nothing and says what
//! to run when it is missing.

use async_nats::jetstream;
use contract::proto::common::v1::{DateWindow, EnquiryKind, Format, Session, Topic};
use contract::proto::{assignment, cityfeed, enquiry, notification, query, workshop};
use contract::{CityCode, CloudEvent, Envelope, Service, subjects};
use messaging::{StreamSettings, provision_streams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use test_support::local_infra::{NatsOptions, NatsServer};
use test_support::{TestNats, test_infra_dir, workspace_root};
use tokio::process::Command;
use tokio::sync::OnceCell;
use uuid::Uuid;

/// How long one run of an example may take.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The examples, run as an integrator runs them.

#[tokio::test]
async fn both_examples_print_every_event_in_order_and_resume_where_they_stopped() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    provision_streams(&js, &StreamSettings::default())
        .await
        .expect("the streams are provisioned");
    let published = publish_programme(&js).await;
    let server = Connection {
        url: nats.url(),
        user: None,
    };

    // A new consumer reads from the first event.
    let rust = Example::Rust
        .read(&server, "rust-reader", &["--max", "5"])
        .await;
    assert_eq!(rust, published, "the Rust example, from the start");

    // Acknowledged events stay read: a second run of the same consumer goes
    // on where the first one stopped.
    let first = Example::Python
        .read(&server, "python-reader", &["--max", "3"])
        .await;
    assert_eq!(first, published[..3], "the Python example, first run");
    let second = Example::Python
        .read(&server, "python-reader", &["--max", "2"])
        .await;
    assert_eq!(second, published[3..], "the Python example, second run");

    // Replay from a stream sequence, with new consumers.
    for example in [Example::Rust, Example::Python] {
        let consumer = format!("{}-from-3", example.name());
        let replayed = example
            .read(&server, &consumer, &["--from-seq", "3", "--max", "3"])
            .await;
        assert_eq!(replayed, published[2..], "{example:?} from sequence 3");
    }

    // A later event reaches the existing consumers, and it alone.
    let cancelled = publish(
        &js,
        Service::Scheduling,
        subjects::WORKSHOP_CANCELLED,
        &workshop::v1::WorkshopCancelled {
            workshop_id: "0193f4d2-8a40-7b21-8c3d-2e1f0a9b8c7d".into(),
            version: 2,
            reason: "all cities withdrew".into(),
        },
    )
    .await;
    for (example, consumer) in [
        (Example::Rust, "rust-reader"),
        (Example::Python, "python-reader"),
    ] {
        let later = example.read(&server, consumer, &["--max", "1"]).await;
        assert_eq!(later, [cancelled.as_str()], "{example:?}, the later event");
        let info = js
            .get_stream(subjects::STREAM_EVENTS)
            .await
            .expect("the events stream")
            .consumer_info(consumer)
            .await
            .expect("the example's durable consumer exists");
        assert_eq!(
            (
                info.num_pending,
                info.num_ack_pending,
                info.ack_floor.stream_sequence
            ),
            (0, 0, 6),
            "{consumer}: every event acknowledged, none left"
        );
    }
}

#[tokio::test]
async fn the_read_only_integrator_user_runs_both_examples() {
    let nats = DeployNats::start().await;
    // The services publish in a deployment; the operator may do anything.
    let operator = async_nats::ConnectOptions::with_user_and_password(
        "operator".into(),
        nats.password("operator"),
    )
    .connect(nats.url())
    .await
    .expect("the operator connects");
    let js = jetstream::new(operator);
    provision_streams(&js, &StreamSettings::default())
        .await
        .expect("the operator provisions the streams");
    let published = publish_programme(&js).await;

    let integrator = Connection {
        url: nats.url(),
        user: Some(("integrator".into(), nats.password("integrator"))),
    };
    for example in [Example::Rust, Example::Python] {
        let consumer = format!("{}-integrator", example.name());
        let read = example.read(&integrator, &consumer, &["--max", "5"]).await;
        assert_eq!(read, published, "{example:?} as the integrator user");
    }
}

/// Publishes five programme events as the services would (each with its
/// CloudEvents headers), and one internal event the examples must not see;
/// returns the lines the examples print for the programme events.
async fn publish_programme(js: &jetstream::Context) -> Vec<String> {
    let enquiry_id = Uuid::now_v7().to_string();
    let workshop_id = Uuid::now_v7().to_string();
    let window = DateWindow {
        start: "2027-02-01".into(),
        end: "2027-03-31".into(),
    };
    let mut lines = Vec::new();
    lines.push(
        publish(
            js,
            Service::Intake,
            subjects::ENQUIRY_RECEIVED,
            &enquiry::v1::EnquiryReceived {
                enquiry_id: enquiry_id.clone(),
                city: "makassar".into(),
                reference: "MKS-2027-014".into(),
                kind: EnquiryKind::JointWorkshop.into(),
                topics: vec![
                    Topic::SocialInnovation.into(),
                    Topic::LocalGovernance.into(),
                ],
                preferred_window: Some(window),
                participants: 18,
                languages: vec!["en".into(), "id".into()],
                format: Format::Either.into(),
                time_zone: "Asia/Makassar".into(),
                beneficiary: true,
                priority: true,
                inbound_id: Uuid::now_v7().to_string(),
                country: "ID".into(),
                ..Default::default()
            },
        )
        .await,
    );
    // Personal data travels on ILEAPS_INTERNAL only: no integrator reads it.
    publish(
        js,
        Service::Intake,
        subjects::INTERNAL_ENQUIRY_CONTACT,
        &enquiry::v1::EnquiryContact {
            enquiry_id: enquiry_id.clone(),
            city: "makassar".into(),
            reference: "MKS-2027-014".into(),
            name: "A. Rahman".into(),
            email: "innovation.office@makassar.example".into(),
            phone: None,
            preferred_language: "id".into(),
            inbound_id: String::new(),
        },
    )
    .await;
    lines.push(
        publish(
            js,
            Service::Intake,
            subjects::ENQUIRY_REJECTED,
            &enquiry::v1::EnquiryRejected {
                city: "chandigarh".into(),
                reference: "CHD-2027-003".into(),
                inbound_id: Uuid::now_v7().to_string(),
                inbound_type: contract::event_types::ENQUIRY_SUBMIT.into(),
                reasons: vec![enquiry::v1::RejectionReason {
                    code: enquiry::v1::RejectionCode::WindowInPast.into(),
                    field: "preferredWindow.start".into(),
                    message: "starts on 2026-11-20, before today (2026-12-01)".into(),
                }],
                rejected_at: None,
            },
        )
        .await,
    );
    let session = |day: &str| -> Session {
        serde_json::from_value(json!({
            "start": format!("{day}T00:00:00Z"),
            "end": format!("{day}T08:00:00Z"),
        }))
        .expect("a session")
    };
    lines.push(
        publish(
            js,
            Service::Scheduling,
            subjects::WORKSHOP_SCHEDULED,
            &workshop::v1::WorkshopScheduled {
                workshop_id: workshop_id.clone(),
                version: 1,
                kind: EnquiryKind::JointWorkshop.into(),
                primary_topic: Topic::SocialInnovation.into(),
                topics: vec![
                    Topic::SocialInnovation.into(),
                    Topic::LocalGovernance.into(),
                ],
                format: Format::InPerson.into(),
                host_city: "seoul".into(),
                time_zone: "Asia/Seoul".into(),
                sessions: vec![session("2027-02-16"), session("2027-02-17")],
                cities: vec![workshop::v1::Participation {
                    city: "makassar".into(),
                    enquiry_id: enquiry_id.clone(),
                    participants: 18,
                }],
                languages: vec!["en".into(), "id".into()],
                proposed_team: Vec::new(),
            },
        )
        .await,
    );
    lines.push(
        publish(
            js,
            Service::Assignment,
            subjects::ASSIGNMENT_MADE,
            &assignment::v1::AssignmentMade {
                workshop_id: workshop_id.clone(),
                workshop_version: 1,
                experts: vec![assignment::v1::AssignedExpert {
                    expert_id: "lee-seoyeon".into(),
                    display_name: "Lee Seo-yeon".into(),
                    role: assignment::v1::ExpertRole::Lead.into(),
                }],
            },
        )
        .await,
    );
    lines.push(
        publish(
            js,
            Service::Notifications,
            subjects::NOTIFICATION_DELIVERED,
            &notification::v1::NotificationDelivered {
                notification_id: Uuid::now_v7().to_string(),
                cause_event_id: Uuid::now_v7().to_string(),
                channel: notification::v1::Channel::CityFeed.into(),
                recipient_kind: notification::v1::RecipientKind::City.into(),
                recipient_ref: "makassar".into(),
                attempts: 1,
                notice: notification::v1::Notice::WorkshopConfirmed.into(),
                enquiry_id,
                workshop_id,
                workshop_version: 1,
            },
        )
        .await,
    );
    lines
}

/// Publishes `body` on `subject` as `service` does, with the envelope's
/// headers (and a trace context), and waits for JetStream's ack. Returns the
/// line the examples print for it: `<ce-type> <ce-id> <subject>`.
async fn publish<E: CloudEvent>(
    js: &jetstream::Context,
    service: Service,
    subject: &str,
    body: &E,
) -> String {
    let mut envelope = Envelope::new(service, E::TYPE, Uuid::now_v7().to_string());
    let span = Uuid::new_v4().simple().to_string();
    envelope.traceparent = Some(format!("00-{}-{}-01", Uuid::new_v4().simple(), &span[..16]));
    js.publish_with_headers(
        subject.to_owned(),
        envelope.to_headers(),
        body.to_json().into(),
    )
    .await
    .unwrap_or_else(|error| panic!("publishing on {subject}: {error}"))
    .await
    .unwrap_or_else(|error| panic!("no JetStream ack for {subject}: {error}"));
    format!("{} {} {subject}", E::TYPE, envelope.id)
}

/// Where an example connects, and as whom.
#[derive(Debug, Clone)]
struct Connection {
    url: String,
    user: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Example {
    /// `tests/examples/integrator.rs`, built by cargo.
    Rust,
    /// `docs/examples/integrator.py`, run by python3.
    Python,
}

impl Example {
    fn name(self) -> &'static str {
        match self {
            Example::Rust => "rust",
            Example::Python => "python",
        }
    }

    /// Runs the example with `consumer` and `args` until it exits; returns
    /// the lines it printed.
    async fn read(self, server: &Connection, consumer: &str, args: &[&str]) -> Vec<String> {
        let mut command = match self {
            Example::Rust => Command::new(rust_example().await),
            Example::Python => {
                require_nats_py();
                let mut command = Command::new("python3");
                command.arg("docs/examples/integrator.py");
                command
            }
        };
        command
            .current_dir(workspace_root())
            .arg(consumer)
            .args(args)
            .env("NATS_URL", &server.url)
            .env_remove("NATS_USER")
            .env_remove("NATS_PASSWORD")
            .env_remove("INTEGRATOR_CONSUMER");
        if let Some((user, password)) = &server.user {
            command
                .env("NATS_USER", user)
                .env("NATS_PASSWORD", password);
        }
        run(command, &format!("the {self:?} example")).await
    }
}

/// Runs `command` to its end (within [`DEADLINE`]) and returns its output
/// lines; panics with the command, its status and its output otherwise.
async fn run(mut command: Command, what: &str) -> Vec<String> {
    let shown = format!("{:?}", command.as_std());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{what} does not start ({shown}): {error}"));
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not end within {DEADLINE:?}: {shown}"))
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} exited with {}: {shown}\n--- stdout\n{stdout}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

/// The Rust example's executable: cargo builds it once per test process (a
/// no-op when it is fresh) and reports where it is.
async fn rust_example() -> &'static Path {
    static EXAMPLE: OnceCell<PathBuf> = OnceCell::const_new();
    EXAMPLE
        .get_or_init(|| async {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = Command::new(cargo)
                .current_dir(workspace_root())
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "ileaps-tests",
                    "--example",
                    "integrator",
                    "--message-format=json",
                ])
                .stderr(Stdio::inherit())
                .output()
                .await
                .expect("cargo runs");
            assert!(
                output.status.success(),
                "cargo could not build the integrator example: \
                 cargo build -p ileaps-tests --example integrator"
            );
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find_map(|message| {
                    let target = &message["target"];
                    let is_example = target["name"] == "integrator"
                        && target["kind"]
                            .as_array()
                            .is_some_and(|kinds| kinds.contains(&json!("example")));
                    is_example
                        .then(|| message["executable"].as_str().map(PathBuf::from))
                        .flatten()
                })
                .expect("cargo reports the integrator example's executable")
        })
        .await
}

/// The Python example needs nats-py; this test installs nothing.
fn require_nats_py() {
    let importable = std::process::Command::new("python3")
        .args(["-c", "import nats.js"])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        importable,
        "the integrators' Python example (docs/examples/integrator.py) needs nats-py, and \
         python3 cannot import it: run `python3 -m pip install nats-py` \
         (`cargo run -p ileaps -- dev test` and .ci/run install it)"
    );
}

/// A private nats-server running the deployment's configuration
/// (`deploy/nats/nats.conf` with its `auth.conf`), with a password of this
/// test's for every user. The listen address gives way to a free port on
/// 127.0.0.1, the monitoring port is dropped and the store is the test's.
#[derive(Debug)]
struct DeployNats {
    server: NatsServer,
}

impl DeployNats {
    async fn start() -> DeployNats {
        let dir = test_infra_dir().join(format!("nats-integrators-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("the server's directory");
        let deploy = workspace_root().join("deploy/nats");
        let read = |name: &str| {
            std::fs::read_to_string(deploy.join(name))
                .unwrap_or_else(|error| panic!("deploy/nats/{name}: {error}"))
        };
        let config: String = read("nats.conf")
            .lines()
            .filter(|line| !line.trim_start().starts_with("http_port:"))
            .map(|line| {
                if line.trim_start().starts_with("store_dir:") {
                    format!("  store_dir: {:?}\n", dir.join("jetstream"))
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        let auth = read("auth.conf");
        // Every `$PASS_<USER>` variable of auth.conf, defined for this test.
        let variables: BTreeSet<&str> = auth
            .match_indices("$PASS_")
            .map(|(at, _)| {
                let rest = &auth[at + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        let passwords: String = variables
            .iter()
            .map(|variable| format!("{variable}: \"{}\"\n", password_of_variable(variable)))
            .collect();
        for (name, text) in [
            ("nats.conf", config),
            ("auth.conf", auth.clone()),
            ("passwords.conf", passwords),
        ] {
            std::fs::write(dir.join(name), text).expect("the server's configuration");
        }
        let mut options = NatsOptions::new(&dir);
        options.config_file = Some(dir.join("nats.conf"));
        // The configuration turns JetStream on, with the store above.
        options.jetstream = false;
        let server = NatsServer::start_disposable(options)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "this test needs nats-server running deploy/nats/nats.conf (in {}): {error}",
                    dir.display()
                )
            });
        DeployNats { server }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// The test's password of `user` (`PASS_<USER>`, `-` as `_`).
    fn password(&self, user: &str) -> String {
        password_of_variable(&format!(
            "PASS_{}",
            user.to_ascii_uppercase().replace('-', "_")
        ))
    }
}

fn password_of_variable(variable: &str) -> String {
    format!("test-{}-s3cret", variable.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------
// The guide's and the AsyncAPI document's bodies, against the generated types.

/// A message of `proto/`, its `ce-type` when it has one, and how its JSON
/// reads into the generated type and back.
struct ProtoMessage {
    name: &'static str,
    ce_type: Option<&'static str>,
    round_trip: fn(&Value) -> Result<Value, String>,
}

/// A [`ProtoMessage`] of generated type `$ty`: its JSON is read as `$ty`
/// (which refuses unknown fields and enum values) and written again.
macro_rules! message {
    ($ty:ty, $name:literal) => {
        ProtoMessage {
            name: $name,
            ce_type: None,
            round_trip: |value| {
                let parsed: $ty =
                    serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
                serde_json::to_value(&parsed).map_err(|error| error.to_string())
            },
        }
    };
}

/// [`message!`] for a type with a `ce-type`.
macro_rules! event {
    ($ty:ty, $name:literal) => {
        ProtoMessage {
            ce_type: Some(<$ty as CloudEvent>::TYPE),
            ..message!($ty, $name)
        }
    };
}

/// Every message of `proto/`, by its full name.
fn proto_messages() -> Vec<ProtoMessage> {
    use assignment::v1 as a;
    use cityfeed::v1 as f;
    use enquiry::v1 as e;
    use notification::v1 as n;
    use query::v1 as q;
    use workshop::v1 as w;
    vec![
        message!(DateWindow, "ileaps.common.v1.DateWindow"),
        message!(Session, "ileaps.common.v1.Session"),
        event!(e::EnquirySubmission, "ileaps.enquiry.v1.EnquirySubmission"),
        message!(e::Contact, "ileaps.enquiry.v1.Contact"),
        event!(e::EnquiryWithdrawal, "ileaps.enquiry.v1.EnquiryWithdrawal"),
        event!(e::EnquiryReceived, "ileaps.enquiry.v1.EnquiryReceived"),
        message!(e::RejectionReason, "ileaps.enquiry.v1.RejectionReason"),
        event!(e::EnquiryRejected, "ileaps.enquiry.v1.EnquiryRejected"),
        event!(e::EnquiryWithdrawn, "ileaps.enquiry.v1.EnquiryWithdrawn"),
        event!(e::EnquiryContact, "ileaps.enquiry.v1.EnquiryContact"),
        message!(w::Participation, "ileaps.workshop.v1.Participation"),
        message!(w::ProposedExpert, "ileaps.workshop.v1.ProposedExpert"),
        event!(w::WorkshopScheduled, "ileaps.workshop.v1.WorkshopScheduled"),
        event!(
            w::WorkshopRescheduled,
            "ileaps.workshop.v1.WorkshopRescheduled"
        ),
        event!(w::WorkshopCancelled, "ileaps.workshop.v1.WorkshopCancelled"),
        event!(
            w::WorkshopUnschedulable,
            "ileaps.workshop.v1.WorkshopUnschedulable"
        ),
        message!(a::AssignedExpert, "ileaps.assignment.v1.AssignedExpert"),
        event!(a::AssignmentMade, "ileaps.assignment.v1.AssignmentMade"),
        event!(
            a::AssignmentUnfilled,
            "ileaps.assignment.v1.AssignmentUnfilled"
        ),
        event!(
            a::AssignmentReleased,
            "ileaps.assignment.v1.AssignmentReleased"
        ),
        event!(a::ExpertContact, "ileaps.assignment.v1.ExpertContact"),
        event!(a::ExpertProfile, "ileaps.assignment.v1.ExpertProfile"),
        message!(a::Hold, "ileaps.assignment.v1.Hold"),
        event!(a::WorkshopHolds, "ileaps.assignment.v1.WorkshopHolds"),
        event!(
            n::NotificationDelivered,
            "ileaps.notification.v1.NotificationDelivered"
        ),
        event!(
            n::NotificationFailed,
            "ileaps.notification.v1.NotificationFailed"
        ),
        message!(f::LocalSession, "ileaps.cityfeed.v1.LocalSession"),
        event!(
            f::EnquiryReceivedNotice,
            "ileaps.cityfeed.v1.EnquiryReceivedNotice"
        ),
        event!(
            f::EnquiryRejectedNotice,
            "ileaps.cityfeed.v1.EnquiryRejectedNotice"
        ),
        event!(
            f::EnquiryWithdrawnNotice,
            "ileaps.cityfeed.v1.EnquiryWithdrawnNotice"
        ),
        event!(
            f::WorkshopConfirmedNotice,
            "ileaps.cityfeed.v1.WorkshopConfirmedNotice"
        ),
        event!(
            f::WorkshopRescheduledNotice,
            "ileaps.cityfeed.v1.WorkshopRescheduledNotice"
        ),
        event!(
            f::WorkshopCancelledNotice,
            "ileaps.cityfeed.v1.WorkshopCancelledNotice"
        ),
        event!(
            f::UnschedulableNotice,
            "ileaps.cityfeed.v1.UnschedulableNotice"
        ),
        event!(f::ReminderNotice, "ileaps.cityfeed.v1.ReminderNotice"),
        event!(
            q::EnquiryStatusRequest,
            "ileaps.query.v1.EnquiryStatusRequest"
        ),
        message!(q::EnquiryStatusReply, "ileaps.query.v1.EnquiryStatusReply"),
        message!(q::QueryError, "ileaps.query.v1.QueryError"),
        message!(q::QueryErrorReply, "ileaps.query.v1.QueryErrorReply"),
    ]
}

/// The value names of a generated enum, in number order.
fn names<E: TryFrom<i32>>(name: fn(&E) -> &'static str) -> Vec<&'static str> {
    (0..)
        .map_while(|n| E::try_from(n).ok())
        .map(|value| name(&value))
        .collect()
}

/// Every enum of `proto/`, by its full name, with its values.
fn proto_enums() -> BTreeMap<&'static str, Vec<&'static str>> {
    use assignment::v1::ExpertRole;
    use enquiry::v1::RejectionCode;
    use notification::v1::{Channel, Notice, RecipientKind};
    use query::v1::EnquiryStatus;
    BTreeMap::from([
        (
            "ileaps.common.v1.EnquiryKind",
            names(EnquiryKind::as_str_name),
        ),
        ("ileaps.common.v1.Topic", names(Topic::as_str_name)),
        ("ileaps.common.v1.Format", names(Format::as_str_name)),
        (
            "ileaps.enquiry.v1.RejectionCode",
            names(RejectionCode::as_str_name),
        ),
        (
            "ileaps.assignment.v1.ExpertRole",
            names(ExpertRole::as_str_name),
        ),
        (
            "ileaps.notification.v1.Channel",
            names(Channel::as_str_name),
        ),
        ("ileaps.notification.v1.Notice", names(Notice::as_str_name)),
        (
            "ileaps.notification.v1.RecipientKind",
            names(RecipientKind::as_str_name),
        ),
        (
            "ileaps.query.v1.EnquiryStatus",
            names(EnquiryStatus::as_str_name),
        ),
    ])
}

/// The fields of every message in `proto/`, by the message's full name, as
/// their JSON names: read from the `.proto` files themselves, so a message or
/// field added there and missing here (or in the documents) is noticed.
fn proto_fields() -> BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("proto/ is readable") {
            let path = entry.expect("a proto/ entry").path();
            if path.is_dir() {
                files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "proto") {
                found.push(path);
            }
        }
    }
    /// proto3's JSON name: `time_zone` is `timeZone`.
    fn json_name(field: &str) -> String {
        let mut name = String::new();
        let mut upper = false;
        for c in field.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                name.extend(c.to_uppercase());
                upper = false;
            } else {
                name.push(c);
            }
        }
        name
    }
    enum Block {
        Message(String),
        Oneof,
        Other,
    }
    let mut paths = Vec::new();
    files(&workspace_root().join("proto"), &mut paths);
    let mut fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a .proto file");
        let mut package = String::new();
        let mut blocks: Vec<Block> = Vec::new();
        for line in text.lines() {
            let line = line.split("//").next().unwrap_or_default().trim();
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == '{')
                .filter(|w| !w.is_empty())
                .collect();
            match words.as_slice() {
                ["package", name, ..] => package = name.trim_end_matches(';').to_owned(),
                ["message", name, ..] => {
                    let outer: Vec<&str> = blocks
                        .iter()
                        .filter_map(|b| match b {
                            Block::Message(m) => Some(m.as_str()),
                            _ => None,
                        })
                        .collect();
                    let full = [package.as_str()]
                        .into_iter()
                        .chain(outer)
                        .chain([*name])
                        .collect::<Vec<_>>()
                        .join(".");
                    fields.entry(full.clone()).or_default();
                    blocks.push(Block::Message(full));
                }
                ["oneof", ..] => blocks.push(Block::Oneof),
                [kind, ..] if line.ends_with('{') || ["enum", "service"].contains(kind) => {
                    blocks.push(Block::Other);
                }
                [.., name, "=", _number] if line.ends_with(';') => {
                    let owner = blocks.iter().rev().find(|b| !matches!(b, Block::Oneof));
                    if let Some(Block::Message(message)) = owner
                        && !["option", "reserved", "extensions"].contains(&words[0])
                    {
                        fields
                            .get_mut(message)
                            .expect("the message")
                            .insert(json_name(name));
                    }
                }
                _ => {}
            }
            for _ in line.matches('}') {
                blocks.pop();
            }
        }
    }
    fields
}

/// Each programme event's `ce-type` and subject, from the contract crate.
fn programme_subjects() -> Vec<(&'static str, &'static str)> {
    use assignment::v1 as a;
    use enquiry::v1 as e;
    use notification::v1 as n;
    use workshop::v1 as w;
    vec![
        (e::EnquiryReceived::TYPE, subjects::ENQUIRY_RECEIVED),
        (e::EnquiryRejected::TYPE, subjects::ENQUIRY_REJECTED),
        (e::EnquiryWithdrawn::TYPE, subjects::ENQUIRY_WITHDRAWN),
        (w::WorkshopScheduled::TYPE, subjects::WORKSHOP_SCHEDULED),
        (w::WorkshopRescheduled::TYPE, subjects::WORKSHOP_RESCHEDULED),
        (w::WorkshopCancelled::TYPE, subjects::WORKSHOP_CANCELLED),
        (
            w::WorkshopUnschedulable::TYPE,
            subjects::WORKSHOP_UNSCHEDULABLE,
        ),
        (a::AssignmentMade::TYPE, subjects::ASSIGNMENT_MADE),
        (a::AssignmentUnfilled::TYPE, subjects::ASSIGNMENT_UNFILLED),
        (a::AssignmentReleased::TYPE, subjects::ASSIGNMENT_RELEASED),
        (
            n::NotificationDelivered::TYPE,
            subjects::NOTIFICATION_DELIVERED,
        ),
        (n::NotificationFailed::TYPE, subjects::NOTIFICATION_FAILED),
    ]
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace_root().join(relative))
        .unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// The guide's example body of each programme event: the first ```json
/// block of its section, headed "### `<ce-type>`", which names its subject.
fn guide_examples() -> BTreeMap<&'static str, Value> {
    let guide = read("docs/integrators.md");
    programme_subjects()
        .into_iter()
        .map(|(ce_type, subject)| {
            let heading = format!("\n### `{ce_type}`\n");
            let start = guide.find(&heading).unwrap_or_else(|| {
                panic!("docs/integrators.md has no section headed ### `{ce_type}`")
            }) + heading.len();
            let section = &guide[start..];
            let section = &section[..section.find("\n#").unwrap_or(section.len())];
            assert!(
                section.contains(&format!("`{subject}`")),
                "docs/integrators.md, {ce_type}: the section does not name its subject {subject}"
            );
            let body = section
                .split("```json\n")
                .nth(1)
                .and_then(|rest| rest.split("\n```").next())
                .unwrap_or_else(|| {
                    panic!("docs/integrators.md, {ce_type}: no ```json example body")
                });
            let value: Value = serde_json::from_str(body).unwrap_or_else(|error| {
                panic!("docs/integrators.md, {ce_type}: the example is not JSON: {error}")
            });
            (ce_type, value)
        })
        .collect()
}

#[test]
fn every_programme_event_in_the_guide_has_an_example_body_true_to_the_proto() {
    let covered: BTreeSet<&str> = programme_subjects().iter().map(|(t, _)| *t).collect();
    let programme: BTreeSet<&str> = contract::event_types::PROGRAMME_EVENTS
        .iter()
        .copied()
        .collect();
    assert_eq!(covered, programme, "the programme's event types");

    let messages = proto_messages();
    let fields = proto_fields();
    for (ce_type, example) in guide_examples() {
        let message = messages
            .iter()
            .find(|m| m.ce_type == Some(ce_type))
            .unwrap_or_else(|| panic!("no generated type has ce-type {ce_type}"));
        // The services write every field (defaults too): an example that
        // leaves one out, misnames one or writes one otherwise is not what
        // an integrator receives.
        assert_eq!(
            (message.round_trip)(&example).as_ref(),
            Ok(&example),
            "docs/integrators.md, {ce_type}: the example body is not {} as the services write it",
            message.name
        );
        let shown: BTreeSet<String> = example
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            shown, fields[message.name],
            "docs/integrators.md, {ce_type}: the example shows every field of {}",
            message.name
        );
    }
}

#[test]
fn the_asyncapi_document_describes_the_contract() {
    let document: Value =
        serde_yaml::from_str(&read("docs/asyncapi.yaml")).expect("docs/asyncapi.yaml is YAML");
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let messages = proto_messages();
    let enums = proto_enums();

    // A schema for every message and enum of proto/, named by its full name,
    // and none for anything else under that name.
    let proto_names: BTreeSet<&str> = messages
        .iter()
        .map(|m| m.name)
        .chain(enums.keys().copied())
        .collect();
    let schema_names: BTreeSet<&str> = schemas
        .keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("ileaps."))
        .collect();
    assert_eq!(
        schema_names, proto_names,
        "docs/asyncapi.yaml: the schemas named ileaps.* against proto/"
    );

    // Each enum lists exactly the proto's values, in order.
    for (name, values) in &enums {
        let listed: Vec<&str> = schemas[*name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no enum"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(&listed, values, "docs/asyncapi.yaml, {name}");
    }

    // Every message of proto/ is known here, and its schema names exactly its
    // fields.
    let fields = proto_fields();
    let known: BTreeSet<&str> = messages.iter().map(|m| m.name).collect();
    let in_proto: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        known, in_proto,
        "the messages of proto/ against this test's list (proto_messages)"
    );
    for message in &messages {
        let named: BTreeSet<String> = schemas[message.name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no properties", message.name))
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            named, fields[message.name],
            "docs/asyncapi.yaml, {}: the schema's fields against the proto's",
            message.name
        );
    }

    // Each message's schema has exactly the proto's fields, of the right
    // JSON types: a body with every field the schema names (each enum value
    // in turn) reads into the generated type, which refuses unknown fields
    // and values, and is written again unchanged (with every field the
    // type has).
    let longest_enum = enums.values().map(Vec::len).max().unwrap_or(1);
    for message in &messages {
        for variant in 0..longest_enum {
            let body = sample(&document, &schemas[message.name], variant, message.name);
            assert_eq!(
                (message.round_trip)(&body).as_ref(),
                Ok(&body),
                "docs/asyncapi.yaml, {}: the schema's fields differ from the proto's",
                message.name
            );
        }
    }

    // Each message with a ce-type carries the generated type of that ce-type,
    // and every ce-type of the contract has its message.
    let mut ce_types = BTreeSet::new();
    let guide = guide_examples();
    let components = document["components"]["messages"]
        .as_object()
        .expect("components.messages");
    for (id, definition) in components {
        let payload = definition["payload"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"));
        let ce_type = ce_type_of(definition);
        if let Some(ce_type) = ce_type {
            ce_types.insert(ce_type.to_owned());
            let expected = messages
                .iter()
                .find(|m| m.ce_type == Some(ce_type))
                .unwrap_or_else(|| {
                    panic!("messages.{id}: no generated type has ce-type {ce_type}")
                });
            assert_eq!(payload, Some(expected.name), "messages.{id} ({ce_type})");
        }
        // Every example reads and writes as the generated type; a programme
        // event's is the guide's.
        let examples = definition["examples"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for example in &examples {
            let name = payload.unwrap_or_else(|| panic!("messages.{id}: examples, no payload"));
            let message = messages
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("messages.{id}: {name} is not a proto message"));
            let body = &example["payload"];
            assert_eq!(
                (message.round_trip)(body).as_ref(),
                Ok(body),
                "docs/asyncapi.yaml, messages.{id}: the example is not {name} as the services write it"
            );
            if let Some(ce_type) = ce_type.filter(|_| !example["headers"].is_null()) {
                assert_eq!(
                    example["headers"]["ce-type"],
                    json!(ce_type),
                    "messages.{id}"
                );
            }
        }
        if let Some(expected) = ce_type.and_then(|t| guide.get(t)) {
            assert!(
                examples.iter().any(|e| &e["payload"] == expected),
                "docs/asyncapi.yaml, messages.{id}: its example differs from docs/integrators.md's"
            );
        }
    }
    let all: BTreeSet<String> = contract::event_types::ALL
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    assert_eq!(ce_types, all, "docs/asyncapi.yaml: the messages' ce-types");

    // The channels: every subject of contract::subjects, each concrete one
    // carrying the message of its ce-type.
    let channels = document["channels"].as_object().expect("channels");
    let mut addresses = BTreeMap::new();
    for (id, channel) in channels {
        let Some(address) = channel["address"].as_str() else {
            continue; // a reply inbox
        };
        let carried: Vec<&str> = channel["messages"]
            .as_object()
            .unwrap_or_else(|| panic!("channels.{id}: no messages"))
            .values()
            .map(|m| {
                let r = m["$ref"].as_str().expect("a message $ref");
                let name = r
                    .strip_prefix("#/components/messages/")
                    .expect("a component");
                ce_type_of(&components[name]).unwrap_or("")
            })
            .collect();
        addresses.insert(address.to_owned(), carried);
    }
    let internal = [
        (
            enquiry::v1::EnquiryContact::TYPE,
            subjects::INTERNAL_ENQUIRY_CONTACT,
        ),
        (
            assignment::v1::ExpertContact::TYPE,
            subjects::INTERNAL_EXPERT_CONTACT,
        ),
        (
            assignment::v1::ExpertProfile::TYPE,
            subjects::INTERNAL_ROSTER_PROFILE,
        ),
        (
            assignment::v1::WorkshopHolds::TYPE,
            subjects::INTERNAL_ROSTER_HOLDS,
        ),
    ];
    for (ce_type, subject) in programme_subjects().into_iter().chain(internal) {
        assert_eq!(
            addresses.get(subject),
            Some(&vec![ce_type]),
            "docs/asyncapi.yaml: channel {subject}"
        );
    }
    let city = CityCode::parse("makassar").expect("a city code");
    let templated = |address: &str| {
        address
            .replace("{city}", "makassar")
            .replace("{service}", "intake")
    };
    let inbound: Vec<&String> = addresses
        .keys()
        .filter(|a| a.starts_with("ileaps.inbound."))
        .collect();
    assert!(
        inbound.len() == 1 && templated(inbound[0]) == subjects::inbound_enquiry(&city),
        "docs/asyncapi.yaml: the inbound channel {inbound:?}"
    );
    assert!(
        addresses
            .keys()
            .any(|a| templated(a) == subjects::query_enquiry(&city)),
        "docs/asyncapi.yaml: the status query channel"
    );
    assert!(
        addresses
            .keys()
            .any(|a| templated(a) == subjects::dlq(Service::Intake)),
        "docs/asyncapi.yaml: the dead-letter channel"
    );
    assert!(
        addresses
            .keys()
            .any(|a| templated(a)
                .starts_with(&format!("{}.", subjects::admin_prefix(Service::Intake)))),
        "docs/asyncapi.yaml: the operator command channel"
    );
    // Each city feed notice on its subject, ileaps.outbound.<city>.<what>.
    for message in messages.iter().filter(|m| m.name.contains(".cityfeed.")) {
        let Some(ce_type) = message.ce_type else {
            continue;
        };
        let what = ce_type
            .strip_prefix("ileaps.city.")
            .and_then(|t| t.strip_suffix(".v1"))
            .expect("a city feed ce-type");
        let subject = subjects::outbound(&city, what);
        assert!(
            addresses
                .iter()
                .any(|(a, carried)| templated(a) == subject && carried == &vec![ce_type]),
            "docs/asyncapi.yaml: no channel ileaps.outbound.{{city}}.{what} carrying {ce_type}"
        );
    }
    // Every stream's subjects are covered.
    for prefix in [
        subjects::INBOUND_ALL,
        subjects::EVENTS_ALL,
        subjects::INTERNAL_ALL,
        subjects::OUTBOUND_ALL,
        subjects::DLQ_ALL,
    ] {
        let prefix = prefix.trim_end_matches('>');
        assert!(
            addresses.keys().any(|a| a.starts_with(prefix)),
            "docs/asyncapi.yaml: nothing under {prefix}>"
        );
    }
}

/// The `ce-type` a message's headers schema fixes (`const`), if any.
fn ce_type_of(message: &Value) -> Option<&str> {
    message["headers"]["allOf"]
        .as_array()?
        .iter()
        .find_map(|part| part["properties"]["ce-type"]["const"].as_str())
}

/// A JSON body with every field `schema` names, filled after its type and
/// format; enums take their `variant`-th value (cycling).
fn sample(document: &Value, schema: &Value, variant: usize, path: &str) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{path}: $ref {reference} is not a component schema"));
        let target = &document["components"]["schemas"][name];
        assert!(
            !target.is_null(),
            "{path}: $ref {reference} names no schema"
        );
        return sample(document, target, variant, &format!("{path}>{name}"));
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[variant % values.len()].clone();
    }
    match schema["type"].as_str() {
        Some("object") => Value::Object(
            schema["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{path}: an object schema without properties"))
                .iter()
                .map(|(name, field)| {
                    let value = sample(document, field, variant, &format!("{path}.{name}"));
                    (name.clone(), value)
                })
                .collect(),
        ),
        Some("array") => json!([sample(
            document,
            &schema["items"],
            variant,
            &format!("{path}[]")
        )]),
        Some("string") => match schema["format"].as_str() {
            Some("date-time") => json!("2027-02-16T00:00:00+00:00"),
            Some("date") => json!("2027-02-16"),
            _ => json!(format!("text-{variant}")),
        },
        Some("integer") => json!(variant + 1),
        Some("boolean") => json!(variant % 2 == 1),
        other => panic!("{path}: no sample for a schema of type {other:?}"),
    }
}
