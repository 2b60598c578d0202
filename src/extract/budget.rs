//! The parse budget: how deep a page may nest before the parser stops
//! reading it.
//!
//! html5ever checks "is there a `<p>` in button scope?" on many start tags
//! by walking the stack of open elements, so a page of 200,000 nested
//! `<div>`s (2 MB, under any sane size limit) costs minutes of CPU. Real
//! shop pages nest a few dozen levels. A quick scan finds where a page
//! first nests deeper than [`MAX_DEPTH`]; only the part before it is
//! parsed, which keeps the parser linear in practice.

/// Deepest nesting parsed. Real marketplace pages stay under ~60.
pub(crate) const MAX_DEPTH: usize = 512;

/// Elements that never hold children.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
/// Elements whose end tag is optional: pages leave them open and the parser
/// closes them, so counting them would see depth that is not there.
const OPTIONAL_END: &[&str] = &[
    "html", "head", "body", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead",
    "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp",
];
/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// The byte offset of the tag at which `html` first nests deeper than
/// `max_depth`, if it does. An approximation of the HTML tree builder that
/// errs towards the real depth: end tags close only elements it saw open.
pub(crate) fn too_deep_at(html: &str, max_depth: usize) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        let at = i + offset;
        i = at + 1;
        if bytes[i..].starts_with(b"!--") {
            i = find(bytes, i + 3, b"-->").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            if matches!(bytes.get(i), Some(b'!' | b'?')) {
                i = find(bytes, i, b">").map_or(bytes.len(), |end| end + 1);
            }
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        i = tag_end(bytes, name_start + name_len);
        if closing {
            if let Some(pos) = open.iter().rposition(|n| *n == name) {
                open.truncate(pos);
            }
            continue;
        }
        if RAW_TEXT.contains(&name.as_str()) {
            let end_tag = format!("</{name}");
            i = find_ignore_case(bytes, i, end_tag.as_bytes()).unwrap_or(bytes.len());
            continue;
        }
        if VOID.contains(&name.as_str()) || OPTIONAL_END.contains(&name.as_str()) {
            continue;
        }
        open.push(name);
        if open.len() > max_depth {
            return Some(at);
        }
    }
    None
}

/// Just past the `>` that ends a tag whose attributes start at `from`
/// (quoted values may hold `>`); the end of the input if there is none.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    for (offset, &b) in bytes[from..].iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return from + offset + 1,
            _ => {}
        }
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_ignore_case(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_pages_are_within_budget() {
        let page =
            "<html><head><title>a<div></title><script>if (a<b) { x = '<div>'; }</script></head>\
                    <body><ul><li>one<li>two</ul><p>para<p>again<!-- <div><div> --><br><img src=x>\
                    <div class=\"a>b\"><span>ok</span></div></body></html>";
        assert_eq!(too_deep_at(page, 3), None);
    }

    #[test]
    fn deep_nesting_is_found_where_it_starts() {
        let page = format!("<h1>t</h1>{}", "<div>".repeat(600));
        let at = too_deep_at(&page, MAX_DEPTH).unwrap();
        assert_eq!(at, "<h1>t</h1>".len() + 5 * MAX_DEPTH);
        // Closed divs never add up, however many there are.
        assert_eq!(too_deep_at(&"<div></div>".repeat(10_000), 2), None);
    }

    #[test]
    fn stray_end_tags_do_not_hide_depth() {
        // `</p>` with no open <p> closes nothing, in the parser and here.
        let page = "<div></p>".repeat(600);
        assert!(too_deep_at(&page, MAX_DEPTH).is_some());
    }
}
