//! The words the generated mailboxes are made of: correspondents, subjects
//! and sentences. Plain ASCII on purpose, so bodies need no transfer encoding.

use super::rng::SeededRng;

/// Someone who writes to the mailbox owner: display name, address, the zone
/// their `Date:` header is written in (minutes east of UTC), and the
/// category Gmail's classifier would file their mail under.
pub struct Correspondent {
    pub name: &'static str,
    pub email: &'static str,
    pub offset_minutes: i32,
    pub category: &'static str,
    /// Automated senders write HTML newsletters, never replies.
    pub automated: bool,
}

const fn person(name: &'static str, email: &'static str, offset_minutes: i32) -> Correspondent {
    Correspondent {
        name,
        email,
        offset_minutes,
        category: "CATEGORY_PERSONAL",
        automated: false,
    }
}

const fn robot(name: &'static str, email: &'static str, category: &'static str) -> Correspondent {
    Correspondent {
        name,
        email,
        offset_minutes: 0,
        category,
        automated: true,
    }
}

pub const CORRESPONDENTS: &[Correspondent] = &[
    person("Carol Martinez", "carol.martinez@example.net", -300),
    person("Dave Okafor", "dave@example.org", 60),
    person("Erin Lindqvist", "erin.lindqvist@example.net", 60),
    person("Frank Nakamura", "frank.n@example.org", 540),
    person("Grace Hopper", "grace@example.com", -480),
    person("Hiro Tanaka", "hiro.tanaka@example.net", 540),
    person("Ines Duarte", "ines@example.org", 0),
    person("Jamal Wright", "jamal.wright@example.com", -240),
    person("Katya Petrova", "katya@example.net", 120),
    person("Liam O'Brien", "liam.obrien@example.org", 0),
    robot(
        "Paperclip Billing",
        "billing@paperclip.example",
        "CATEGORY_UPDATES",
    ),
    robot(
        "Build Bot",
        "notifications@ci.example.dev",
        "CATEGORY_UPDATES",
    ),
    robot(
        "Corner Bookshop",
        "news@bookshop.example",
        "CATEGORY_PROMOTIONS",
    ),
    robot(
        "Friendface",
        "no-reply@friendface.example",
        "CATEGORY_SOCIAL",
    ),
    robot(
        "Rust Users Forum",
        "forum@users.example.org",
        "CATEGORY_FORUMS",
    ),
];

const TOPICS: &[&str] = &[
    "budget",
    "offsite",
    "roadmap",
    "hiring",
    "launch",
    "migration",
    "design review",
    "garden",
    "book club",
    "conference",
    "quarterly report",
    "apartment",
    "holiday",
];

const PLACES: &[&str] = &[
    "Lisbon",
    "the lake",
    "Kyoto",
    "the cabin",
    "Oslo",
    "the park",
];

const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

const SENTENCES: &[&str] = &[
    "I went through the numbers again and they look better than last time.",
    "Could you take a look before the end of the week?",
    "Let me know if the new time works for you.",
    "I've attached my notes, nothing surprising in there.",
    "The meeting room is booked, we're on the third floor this time.",
    "We still need someone to own the follow-up items.",
    "Thanks again for the help yesterday, it made a real difference.",
    "I think we should push this to next sprint rather than rush it.",
    "The photos came out great, I'll share the album tonight.",
    "Can we keep the agenda short? Thirty minutes should be enough.",
    "Sorry for the slow reply, it's been a busy couple of days.",
    "The draft is in the shared folder under this week's date.",
    "I'm happy with either option, you pick.",
    "Dinner is at seven, bring something to drink if you like.",
    "Here is the summary you asked for during the call.",
];

/// What a generated message says.
pub struct Content {
    pub subject: String,
    pub text: String,
    /// The same content as HTML, for multipart/alternative messages.
    pub html: Option<String>,
}

/// A subject line a person might write.
pub fn person_subject(rng: &mut SeededRng) -> String {
    let topic = rng.pick(TOPICS);
    match rng.below(7) {
        0 => format!("Lunch on {}?", rng.pick(DAYS)),
        1 => format!("Notes from the {topic} meeting"),
        2 => format!("Quick question about the {topic}"),
        3 => format!("Photos from {}", rng.pick(PLACES)),
        4 => format!("{} plan for Q{}", capitalise(topic), 1 + rng.below(4)),
        5 => format!("Re-scheduling {}", rng.pick(DAYS)),
        _ => format!("Update on the {topic}"),
    }
}

/// The body of a message from `from_first` to `to_first`.
pub fn person_body(rng: &mut SeededRng, from_first: &str, to_first: &str) -> String {
    let mut text = format!("Hi {to_first},\r\n\r\n");
    let count = 2 + rng.below(3);
    let start = rng.below(SENTENCES.len());
    let sentences: Vec<&str> = (0..count)
        .map(|i| SENTENCES[(start + i * 4) % SENTENCES.len()])
        .collect();
    text.push_str(&sentences.join(" "));
    text.push_str("\r\n");
    text.push_str(&format!("\r\nThanks,\r\n{from_first}\r\n"));
    text
}

/// What an automated sender of `category` sends: always text and HTML.
pub fn automated(rng: &mut SeededRng, sender: &Correspondent, to_first: &str) -> Content {
    let number = 1000 + rng.below(9000);
    let (subject, line) = match sender.category {
        "CATEGORY_UPDATES" if sender.email.starts_with("billing") => (
            format!("Your invoice #{number} is ready"),
            format!("Invoice #{number} for this month is now available in your account."),
        ),
        "CATEGORY_UPDATES" => (
            format!("Build #{number} passed"),
            format!("Pipeline run #{number} finished successfully on the main branch."),
        ),
        "CATEGORY_PROMOTIONS" => (
            "New arrivals this week".to_owned(),
            "Twelve new titles arrived this week, members get ten percent off.".to_owned(),
        ),
        "CATEGORY_SOCIAL" => (
            "You have new friend suggestions".to_owned(),
            "People you may know are waiting to connect with you.".to_owned(),
        ),
        _ => (
            format!("[Forum] Weekly digest #{number}"),
            "Top topics this week: error handling, async traits and build times.".to_owned(),
        ),
    };
    let text = format!(
        "Hello {to_first},\r\n\r\n{line}\r\n\r\nYou are receiving this email because you \
         signed up at {}.\r\n",
        sender.email
    );
    Content {
        subject,
        html: Some(html_of(&text)),
        text,
    }
}

/// HTML for a plain-text body, as Gmail's composer writes it.
pub fn html_of(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("\r\n", "<br>");
    format!("<div dir=\"ltr\">{escaped}</div>\r\n")
}

pub fn first_name(name: &str) -> &str {
    name.split(' ').next().unwrap_or(name)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
