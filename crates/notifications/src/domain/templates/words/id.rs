//! Indonesian (Bahasa Indonesia), for Makassar: formal register, as in
//! letters from a public body.

use super::{Unplannable, Words};

pub static ID: Words = Words {
    code: "id",

    greeting: "Yth. {name},",
    greeting_no_name: "Dengan hormat,",
    closing: ["Salam hormat,", "Tim program i-LEAPS"],
    role_lead: "Anda adalah pakar utama untuk lokakarya ini.",
    role_support: "Anda adalah pakar pendamping untuk lokakarya ini.",
    times_note: "Waktu ditampilkan dalam zona waktu Anda dan dalam UTC.",

    reference: "Referensi Anda",
    enquiry: "Permohonan",
    workshop: "Lokakarya",
    kind: "Jenis",
    topics: "Topik",
    primary_topic: "Topik utama",
    window: "Rentang waktu yang diinginkan",
    format: "Format",
    place: "Tempat",
    sessions: "Sesi",
    cities: "Kota peserta",
    experts: "Pakar",
    reason: "Alasan",
    reasons: "Alasan",
    advice: "Yang dapat Anda ubah",

    workshop_value: "{id} (versi {version})",
    window_value: "{start} sampai {end}",
    virtual_place: "Virtual (daring)",
    session_item: "Sesi {n}: {local} = {utc}",
    expert_item: "{name} ({role})",
    no_dates: "tanggal menyusul",
    workshop_what: "{kind} – {topic}",
    kind_names: [
        "Tidak ditentukan",
        "Lokakarya bersama",
        "Dukungan konsultatif",
        "Proyek percontohan",
    ],
    format_names: [
        "Tidak ditentukan",
        "Tatap muka",
        "Virtual (daring)",
        "Tatap muka atau virtual",
    ],
    topic_names: [
        "Tidak ditentukan",
        "Tata kelola pemerintahan daerah",
        "Inovasi sosial",
        "Pemikiran desain (design thinking)",
        "Pemikiran sistem (systems thinking)",
        "Partisipasi warga",
        "Pemerintahan digital",
        "Perencanaan kota",
        "Transportasi",
        "Air dan sanitasi",
        "Pengelolaan sampah",
        "Ketahanan iklim",
        "Perumahan",
    ],
    role_names: ["pakar", "pakar utama", "pakar pendamping"],

    received_subject: "Permohonan {reference} telah diterima",
    received_intro: "Terima kasih: permohonan Anda {reference} telah kami terima, dan \
        kami sedang mencarikan tanggal serta pakar yang sesuai.",
    received_priority: "Kota Anda adalah kota penerima manfaat program ini, sehingga \
        permohonan ini direncanakan dengan prioritas.",
    received_next: "Kami akan menghubungi Anda kembali segera setelah lokakarya \
        dikonfirmasi.",

    rejected_subject: "Permohonan {reference} tidak dapat diterima",
    rejected_subject_no_reference: "Permohonan tidak dapat diterima",
    rejected_intro: "Permohonan Anda {reference} tidak dapat kami terima karena alasan \
        berikut:",
    rejected_intro_no_reference: "Permohonan dari kota Anda tidak dapat kami terima \
        karena alasan berikut:",
    rejected_item: "{words} ({code}), isian {field}: {message}",
    rejected_item_no_field: "{words} ({code}): {message}",
    rejected_more: "… dan {count} alasan lainnya",
    rejected_next: "Silakan perbaiki permohonan tersebut, lalu kirimkan kembali.",
    rejection_words: &[
        ("MALFORMED", "Pesan tidak dapat dibaca"),
        ("MISSING_ATTRIBUTE", "Atribut pesan yang wajib tidak ada"),
        ("UNSUPPORTED_TYPE", "Jenis pesan tidak didukung"),
        (
            "PAYLOAD_TOO_LARGE",
            "Pesan terlalu besar (lebih dari 64 KiB)",
        ),
        ("CITY_MISMATCH", "Kota dalam pesan bukan kota pengirim"),
        ("UNKNOWN_CITY", "Kota tidak terdaftar dalam program"),
        ("INVALID_FIELD", "Sebuah isian tidak valid"),
        (
            "WINDOW_IN_PAST",
            "Rentang waktu yang diinginkan dimulai di masa lalu",
        ),
        (
            "WINDOW_TOO_LONG",
            "Rentang waktu yang diinginkan lebih dari 365 hari",
        ),
        (
            "REFERENCE_CONFLICT",
            "Referensi ini sudah dipakai untuk permohonan lain",
        ),
        (
            "UNKNOWN_ENQUIRY",
            "Tidak ada permohonan dengan referensi ini yang pernah diterima",
        ),
    ],
    rejection_other: "Alasan lain",

    withdrawn_subject: "Permohonan {reference} telah ditarik",
    withdrawn_body: "Sesuai permintaan Anda, permohonan {reference} telah ditarik. Tidak \
        ada lagi yang akan direncanakan untuk permohonan ini.",

    confirmed_subject: "Dikonfirmasi: {what}, mulai {date}",
    confirmed_intro: "Lokakarya Anda telah dikonfirmasi. Berikut rinciannya.",
    rescheduled_subject: "Jadwal baru: {what}, mulai {date}",
    rescheduled_intro: "Lokakarya Anda dijadwalkan ulang. Sesi-sesi yang baru tercantum \
        di bawah ini.",
    cancelled_subject: "Dibatalkan: {what}",
    cancelled_intro: "Mohon maaf, lokakarya berikut tidak akan dilaksanakan.",

    unschedulable_subject: "Lokakarya tidak dapat direncanakan untuk permohonan \
        {reference}",
    unschedulable_intro: "Kami tidak dapat merencanakan lokakarya untuk permohonan Anda \
        {reference}.",
    unplannable: &[
        Unplannable {
            code: "NO_SLOT_IN_WINDOW",
            reason: "Tidak ada tanggal dalam rentang waktu yang Anda inginkan yang \
                memenuhi aturan program (hari kerja, jam kerja di kota Anda dan di \
                Seoul, kapasitas program).",
            advice: "Anda dapat mengirim permohonan baru dengan rentang waktu yang \
                lebih panjang atau lebih lambat, atau dengan format lain (misalnya \
                virtual, bukan tatap muka).",
        },
        Unplannable {
            code: "NO_EXPERT_AFTER_RETRIES",
            reason: "Tidak ada pakar untuk topik Anda yang tersedia pada tanggal-tanggal \
                yang memungkinkan, juga setelah tanggal-tanggal berikutnya dicoba.",
            advice: "Anda dapat mengirim permohonan baru dengan rentang waktu yang \
                lebih panjang agar lebih banyak pakar tersedia, dengan topik lain atau \
                tambahan, atau dengan format lain.",
        },
    ],
    unplannable_other_reason: "Perencana tidak menemukan cara untuk melaksanakannya \
        (kode {code}).",
    unplannable_other_advice: "Anda dapat mengirim permohonan baru dengan rentang waktu \
        yang lebih panjang, format lain, atau topik lain; tim program dengan senang hati \
        membantu Anda memilih.",

    reminder_subject_days: "Pengingat: {what} dalam {days} hari, {date}",
    reminder_subject_tomorrow: "Pengingat: {what} besok, {date}",
    reminder_subject_today: "Pengingat: {what} hari ini, {date}",
    reminder_intro_days: "Sebagai pengingat: lokakarya Anda dimulai dalam {days} hari.",
    reminder_intro_tomorrow: "Sebagai pengingat: lokakarya Anda dimulai besok.",
    reminder_intro_today: "Sebagai pengingat: lokakarya Anda dimulai hari ini.",
};
