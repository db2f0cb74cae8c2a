//! A message as structure ([`Letter`]: greeting, blocks, closing) and its two
//! renderings. Every string in a letter is plain text; the HTML rendering
//! escapes all of them, so markup can only come from here.

use super::clean::escape_html;

/// One message before it is written out.
#[derive(Debug)]
pub struct Letter {
    pub subject: String,
    pub greeting: String,
    pub blocks: Vec<Block>,
    pub closing: [&'static str; 2],
}

/// A part of a message body.
#[derive(Debug)]
pub enum Block {
    Paragraph(String),
    /// Label and value pairs, one a line.
    Facts(Vec<(&'static str, String)>),
    /// A titled list; omitted when it has no items.
    List {
        title: &'static str,
        items: Vec<String>,
    },
}

impl Letter {
    /// The plain-text body: blocks separated by blank lines.
    pub fn to_text(&self) -> String {
        let mut parts = vec![self.greeting.clone()];
        parts.extend(self.blocks.iter().filter_map(block_text));
        parts.push(self.closing.join("\n"));
        let mut text = parts.join("\n\n");
        text.push('\n');
        text
    }

    /// A minimal HTML document with the same content, in `language`.
    pub fn to_html(&self, language: &str) -> String {
        let mut html = String::with_capacity(2048);
        html.push_str("<!DOCTYPE html>\n");
        html.push_str(&format!("<html lang=\"{}\">\n", escape_html(language)));
        html.push_str("<head>\n<meta charset=\"utf-8\">\n");
        html.push_str(&format!("<title>{}</title>\n", escape_html(&self.subject)));
        html.push_str("</head>\n<body>\n");
        html.push_str(&paragraph_html(&self.greeting));
        for block in &self.blocks {
            html.push_str(&block_html(block));
        }
        html.push_str(&format!(
            "<p>{}<br>{}</p>\n",
            escape_html(self.closing[0]),
            escape_html(self.closing[1])
        ));
        html.push_str("</body>\n</html>\n");
        html
    }
}

fn block_text(block: &Block) -> Option<String> {
    match block {
        Block::Paragraph(text) => Some(text.clone()),
        Block::Facts(facts) if facts.is_empty() => None,
        Block::Facts(facts) => Some(
            facts
                .iter()
                .map(|(label, value)| format!("{label}: {value}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Block::List { items, .. } if items.is_empty() => None,
        Block::List { title, items } => {
            let lines: Vec<String> = items.iter().map(|item| format!("- {item}")).collect();
            Some(format!("{title}:\n{}", lines.join("\n")))
        }
    }
}

fn block_html(block: &Block) -> String {
    match block {
        Block::Paragraph(text) => paragraph_html(text),
        Block::Facts(facts) if facts.is_empty() => String::new(),
        Block::Facts(facts) => {
            let rows: String = facts
                .iter()
                .map(|(label, value)| {
                    format!(
                        "<tr><th style=\"text-align:left;vertical-align:top;padding-right:1em\">{}</th><td>{}</td></tr>\n",
                        escape_html(label),
                        escape_html(value)
                    )
                })
                .collect();
            format!("<table>\n{rows}</table>\n")
        }
        Block::List { items, .. } if items.is_empty() => String::new(),
        Block::List { title, items } => {
            let rows: String = items
                .iter()
                .map(|item| format!("<li>{}</li>\n", escape_html(item)))
                .collect();
            format!("<p>{}:</p>\n<ul>\n{rows}</ul>\n", escape_html(title))
        }
    }
}

fn paragraph_html(text: &str) -> String {
    format!("<p>{}</p>\n", escape_html(text))
}
