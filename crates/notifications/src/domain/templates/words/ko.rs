//! Korean, the programme's own language (Seoul's experts).

use super::{Unplannable, Words};

pub static KO: Words = Words {
    code: "ko",

    greeting: "{name} 님께",
    greeting_no_name: "안녕하십니까.",
    closing: ["감사합니다.", "i-LEAPS 프로그램 팀 드림"],
    role_lead: "귀하는 이 워크숍의 주 전문가입니다.",
    role_support: "귀하는 이 워크숍의 보조 전문가입니다.",
    times_note: "시간은 귀하의 시간대와 UTC로 함께 표시됩니다.",

    reference: "귀측 참조 번호",
    enquiry: "신청",
    workshop: "워크숍",
    kind: "유형",
    topics: "주제",
    primary_topic: "주 주제",
    window: "희망 기간",
    format: "형식",
    place: "장소",
    sessions: "세션",
    cities: "참여 도시",
    experts: "전문가",
    reason: "사유",
    reasons: "사유",
    advice: "변경할 수 있는 사항",

    workshop_value: "{id} (버전 {version})",
    window_value: "{start} ~ {end}",
    virtual_place: "온라인(비대면)",
    session_item: "세션 {n}: {local} = {utc}",
    expert_item: "{name} ({role})",
    no_dates: "일정 추후 안내",
    workshop_what: "{topic} {kind}",
    kind_names: ["미지정", "공동 워크숍", "자문 지원", "시범 사업"],
    format_names: ["미지정", "대면", "온라인(비대면)", "대면 또는 온라인"],
    topic_names: [
        "미지정",
        "지방 거버넌스",
        "사회 혁신",
        "디자인 씽킹",
        "시스템 사고",
        "시민 참여",
        "디지털 정부",
        "도시 계획",
        "교통",
        "상하수도 및 위생",
        "폐기물 관리",
        "기후 회복력",
        "주거",
    ],
    role_names: ["전문가", "주 전문가", "보조 전문가"],

    received_subject: "신청 {reference} 접수 완료",
    received_intro: "신청 {reference}을(를) 접수했습니다. 감사합니다. 지금부터 일정과 \
        전문가를 찾겠습니다.",
    received_priority: "귀 도시는 프로그램의 수혜 도시이므로 이 신청은 우선적으로 \
        계획됩니다.",
    received_next: "워크숍이 확정되는 대로 다시 연락드리겠습니다.",

    rejected_subject: "신청 {reference} 반려",
    rejected_subject_no_reference: "신청 반려",
    rejected_intro: "다음 사유로 신청 {reference}을(를) 접수할 수 없었습니다.",
    rejected_intro_no_reference: "다음 사유로 귀 도시의 신청을 접수할 수 없었습니다.",
    rejected_item: "{words} ({code}), 항목 {field}: {message}",
    rejected_item_no_field: "{words} ({code}): {message}",
    rejected_more: "… 외 {count}건",
    rejected_next: "신청 내용을 수정하여 다시 보내 주십시오.",
    rejection_words: &[
        ("MALFORMED", "메시지를 읽을 수 없습니다"),
        ("MISSING_ATTRIBUTE", "필수 메시지 속성이 없습니다"),
        ("UNSUPPORTED_TYPE", "지원하지 않는 메시지 유형입니다"),
        ("PAYLOAD_TOO_LARGE", "메시지가 너무 큽니다(64 KiB 초과)"),
        ("CITY_MISMATCH", "메시지의 도시가 보낸 도시와 다릅니다"),
        ("UNKNOWN_CITY", "프로그램에 등록되지 않은 도시입니다"),
        ("INVALID_FIELD", "항목 값이 올바르지 않습니다"),
        ("WINDOW_IN_PAST", "희망 기간이 과거에 시작됩니다"),
        ("WINDOW_TOO_LONG", "희망 기간이 365일을 넘습니다"),
        (
            "REFERENCE_CONFLICT",
            "이 참조 번호는 다른 신청에 이미 쓰였습니다",
        ),
        ("UNKNOWN_ENQUIRY", "이 참조 번호로 접수된 신청이 없습니다"),
    ],
    rejection_other: "기타 사유",

    withdrawn_subject: "신청 {reference} 철회 완료",
    withdrawn_body: "요청하신 대로 신청 {reference}이(가) 철회되었습니다. 이 신청에 \
        대해서는 더 이상 일정을 계획하지 않습니다.",

    confirmed_subject: "확정: {what}, {date} 시작",
    confirmed_intro: "워크숍이 확정되었습니다. 세부 내용은 다음과 같습니다.",
    rescheduled_subject: "일정 변경: {what}, {date} 시작",
    rescheduled_intro: "워크숍 일정이 변경되었습니다. 새 세션은 아래와 같습니다.",
    cancelled_subject: "취소: {what}",
    cancelled_intro: "죄송하지만 아래 워크숍은 열리지 않습니다.",

    unschedulable_subject: "신청 {reference}: 워크숍을 계획할 수 없음",
    unschedulable_intro: "신청 {reference}에 대한 워크숍을 계획할 수 없었습니다.",
    unplannable: &[
        Unplannable {
            code: "NO_SLOT_IN_WINDOW",
            reason: "희망 기간 안에 프로그램 규칙(근무일, 귀 도시와 서울의 근무 시간, \
                프로그램 수용 능력)을 충족하는 날짜가 없습니다.",
            advice: "더 길거나 더 늦은 희망 기간, 또는 다른 형식(예: 대면 대신 \
                온라인)으로 새로 신청하실 수 있습니다.",
        },
        Unplannable {
            code: "NO_EXPERT_AFTER_RETRIES",
            reason: "이후 날짜까지 시도했지만, 가능한 날짜에 해당 주제의 전문가를 \
                찾지 못했습니다.",
            advice: "더 많은 전문가가 참여할 수 있도록 더 긴 희망 기간, 다른 주제나 \
                추가 주제, 또는 다른 형식으로 새로 신청하실 수 있습니다.",
        },
    ],
    unplannable_other_reason: "계획 과정에서 방법을 찾지 못했습니다(코드 {code}).",
    unplannable_other_advice: "더 긴 희망 기간, 다른 형식 또는 다른 주제로 새로 \
        신청하실 수 있습니다. 프로그램 팀이 선택을 기꺼이 도와 드리겠습니다.",

    reminder_subject_days: "알림: {what}, {days}일 후 ({date})",
    reminder_subject_tomorrow: "알림: {what}, 내일 ({date})",
    reminder_subject_today: "알림: {what}, 오늘 ({date})",
    reminder_intro_days: "워크숍이 {days}일 후에 시작됨을 알려 드립니다.",
    reminder_intro_tomorrow: "워크숍이 내일 시작됨을 알려 드립니다.",
    reminder_intro_today: "워크숍이 오늘 시작됨을 알려 드립니다.",
};
