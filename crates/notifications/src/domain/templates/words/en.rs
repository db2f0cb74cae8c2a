//! English: every message exists in it, and it is the fallback.

use super::{Unplannable, Words};

pub static EN: Words = Words {
    code: "en",

    greeting: "Dear {name},",
    greeting_no_name: "Hello,",
    closing: ["Kind regards,", "The i-LEAPS programme team"],
    role_lead: "You are the lead expert of this workshop.",
    role_support: "You are a supporting expert of this workshop.",
    times_note: "Times are given in your time zone and in UTC.",

    reference: "Your reference",
    enquiry: "Enquiry",
    workshop: "Workshop",
    kind: "Kind",
    topics: "Topics",
    primary_topic: "Primary topic",
    window: "Preferred window",
    format: "Format",
    place: "Place",
    sessions: "Sessions",
    cities: "Participating cities",
    experts: "Experts",
    reason: "Reason",
    reasons: "Reasons",
    advice: "What you could change",

    workshop_value: "{id} (version {version})",
    window_value: "{start} to {end}",
    virtual_place: "Virtual (online)",
    session_item: "Session {n}: {local} = {utc}",
    expert_item: "{name} ({role})",
    no_dates: "dates to follow",
    workshop_what: "{kind} – {topic}",
    kind_names: [
        "Not specified",
        "Joint workshop",
        "Consultative support",
        "Pilot project",
    ],
    format_names: [
        "Not specified",
        "In person",
        "Virtual (online)",
        "In person or virtual",
    ],
    topic_names: [
        "Not specified",
        "Local governance",
        "Social innovation",
        "Design thinking",
        "Systems thinking",
        "Citizen participation",
        "Digital government",
        "Urban planning",
        "Transport",
        "Water and sanitation",
        "Waste management",
        "Climate resilience",
        "Housing",
    ],
    role_names: ["expert", "lead expert", "supporting expert"],

    received_subject: "Enquiry {reference} received",
    received_intro: "Thank you: we have received your enquiry {reference} and are now \
        looking for dates and experts.",
    received_priority: "Your city is a beneficiary city of the programme, so this enquiry \
        is planned with priority.",
    received_next: "We will write to you again as soon as a workshop is confirmed.",

    rejected_subject: "Enquiry {reference} not accepted",
    rejected_subject_no_reference: "Enquiry not accepted",
    rejected_intro: "We could not accept your enquiry {reference}, for these reasons:",
    rejected_intro_no_reference: "We could not accept an enquiry from your city, for \
        these reasons:",
    rejected_item: "{words} ({code}), field {field}: {message}",
    rejected_item_no_field: "{words} ({code}): {message}",
    rejected_more: "… and {count} more",
    rejected_next: "Please correct the enquiry and send it again.",
    rejection_words: &[
        ("MALFORMED", "The message could not be read"),
        (
            "MISSING_ATTRIBUTE",
            "A required message attribute is missing",
        ),
        ("UNSUPPORTED_TYPE", "The message type is not supported"),
        (
            "PAYLOAD_TOO_LARGE",
            "The message is too large (over 64 KiB)",
        ),
        (
            "CITY_MISMATCH",
            "The city in the message is not the sending city",
        ),
        (
            "UNKNOWN_CITY",
            "The city is not registered in the programme",
        ),
        ("INVALID_FIELD", "A field is not valid"),
        ("WINDOW_IN_PAST", "The preferred window starts in the past"),
        (
            "WINDOW_TOO_LONG",
            "The preferred window is longer than 365 days",
        ),
        (
            "REFERENCE_CONFLICT",
            "This reference is already used by a different enquiry",
        ),
        (
            "UNKNOWN_ENQUIRY",
            "No enquiry with this reference was accepted",
        ),
    ],
    rejection_other: "Another reason",

    withdrawn_subject: "Enquiry {reference} withdrawn",
    withdrawn_body: "As you asked, your enquiry {reference} has been withdrawn. Nothing \
        more will be planned for it.",

    confirmed_subject: "Confirmed: {what}, from {date}",
    confirmed_intro: "Your workshop is confirmed. Here are the details.",
    rescheduled_subject: "New dates: {what}, from {date}",
    rescheduled_intro: "Your workshop has new dates. The new sessions are listed below.",
    cancelled_subject: "Cancelled: {what}",
    cancelled_intro: "We are sorry: the workshop below will not take place.",

    unschedulable_subject: "No workshop could be planned for enquiry {reference}",
    unschedulable_intro: "We could not plan a workshop for your enquiry {reference}.",
    unplannable: &[
        Unplannable {
            code: "NO_SLOT_IN_WINDOW",
            reason: "No date in your preferred window meets the programme's rules \
                (working days, working hours in your city and in Seoul, the \
                programme's capacity).",
            advice: "You could send a new enquiry with a wider or later window, or \
                with another format (for example virtual instead of in person).",
        },
        Unplannable {
            code: "NO_EXPERT_AFTER_RETRIES",
            reason: "No expert for your topics was free on the possible dates, even \
                after trying later dates.",
            advice: "You could send a new enquiry with a wider window, so that more \
                experts are free, with other or additional topics, or with another \
                format.",
        },
    ],
    unplannable_other_reason: "The planner found no way to hold it (code {code}).",
    unplannable_other_advice: "You could send a new enquiry with a wider window, \
        another format or other topics; the programme team will gladly help you \
        choose.",

    reminder_subject_days: "Reminder: {what} in {days} days, {date}",
    reminder_subject_tomorrow: "Reminder: {what} tomorrow, {date}",
    reminder_subject_today: "Reminder: {what} today, {date}",
    reminder_intro_days: "A reminder: your workshop begins in {days} days.",
    reminder_intro_tomorrow: "A reminder: your workshop begins tomorrow.",
    reminder_intro_today: "A reminder: your workshop begins today.",
};
