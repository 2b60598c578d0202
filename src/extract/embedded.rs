//! Listing data that marketplaces put in scripts, read without running
//! JavaScript: a JSON island (`<script id="__NEXT_DATA__"
//! type="application/json">`), or an assignment (`window.runParams = {…};
//! more code`, `window.__INITIAL_STATE__ = {…}`) whose object literal is cut
//! out by bracket matching and read leniently — unquoted keys,
//! single-quoted strings, trailing commas, `undefined`, `!0`/`!1` — as
//! JavaScript allows and JSON does not.
//!
//! (The json5 crate reads JSON5 but not `!0` or `undefined`, and brings a
//! parser generator for what is a short scan here.)

use scraper::ElementRef;
use serde_json::Value;

/// Largest script read, in bytes (real ones run to a few MB).
const MAX_SCRIPT: usize = 8 << 20;

/// The data `name` holds in the page's scripts under `root`: the script
/// whose id is `name`, else the first that assigns `name`.
pub(super) fn script_data(root: ElementRef<'_>, name: &str) -> Option<Value> {
    let scripts = scraper::Selector::parse("script").ok()?;
    let mut assigning = None;
    for script in root.select(&scripts) {
        let text: String = script.text().collect();
        if text.len() > MAX_SCRIPT {
            continue;
        }
        if script.value().attr("id") == Some(name) {
            return serde_json::from_str(text.trim()).ok();
        }
        if assigning.is_none() {
            assigning = assigned_literal(&text, name).and_then(lenient_json);
        }
    }
    assigning
}

/// The object or array literal assigned to `name` in `script`
/// (`name = {…}`, `name: {…}` in a config object), up to its matching
/// bracket, whatever code follows.
fn assigned_literal<'a>(script: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(found) = script[from..].find(name) {
        let after = from + found + name.len();
        // A whole name: `runParams`, not `runParamsOld`.
        let before_ok = script[..from + found]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$'));
        let rest = script[after..].trim_start();
        if before_ok {
            if let Some(value) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) {
                let value = value.trim_start();
                let start = script.len() - value.len();
                if value.starts_with('{') || value.starts_with('[') {
                    // One that never closes: nothing later closes either
                    // (and a hostile script gets one scan, not one per
                    // occurrence).
                    return matching_end(&script[start..]).map(|end| &script[start..start + end]);
                }
            }
        }
        from = after;
    }
    None
}

/// The length of the bracketed literal at the start of `text`, strings
/// and their escapes skipped; `None` when it never closes.
fn matching_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// A JavaScript object literal as JSON: unquoted keys quoted,
/// single-quoted strings double-quoted, trailing commas dropped,
/// `undefined` as null, `!0`/`!1` as true/false.
fn lenient_json(literal: &str) -> Option<Value> {
    if let Ok(value) = serde_json::from_str(literal) {
        return Some(value);
    }
    let mut out = String::with_capacity(literal.len() + literal.len() / 8);
    let chars: Vec<char> = literal.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                // A string: copied as a JSON string.
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != c {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            if chars[i + 1] == '\'' {
                                out.push('\'');
                            } else {
                                out.push('\\');
                                out.push(chars[i + 1]);
                            }
                            i += 2;
                            continue;
                        }
                        '"' => out.push_str("\\\""),
                        other => out.push(other),
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            ',' => {
                // Trailing comma before a closing bracket.
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}') | Some(']')) {
                    out.push(',');
                }
                i += 1;
            }
            '!' if matches!(chars.get(i + 1), Some('0') | Some('1')) => {
                out.push_str(if chars[i + 1] == '0' { "true" } else { "false" });
                i += 2;
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let is_key = chars[i..].iter().find(|c| !c.is_whitespace()) == Some(&':');
                match word.as_str() {
                    _ if is_key => {
                        out.push('"');
                        out.push_str(&word);
                        out.push('"');
                    }
                    "undefined" => out.push_str("null"),
                    _ => out.push_str(&word),
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    serde_json::from_str(&out).ok()
}

/// A JSON value as a field's text: strings as they are, numbers written
/// out; anything else is not a field.
pub(super) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(html: &str, name: &str) -> Option<Value> {
        let doc = scraper::Html::parse_document(html);
        script_data(doc.root_element(), name)
    }

    #[test]
    fn an_assignment_followed_by_more_code_is_read() {
        let page = r#"<script>
            var csrf = 'x';
            window.runParams = {
              data: {titleModule: {subject: 'Orvane "Tidewatch" 1:1', }, priceModule: {minAmount: {value: 59.5, currency: "USD"}}},
              abVersion: 'b', isNew: !0, old: undefined, tags: ['a', 'b',],
            };
            window.runParamsOld = {data: 1};
            if (a < b) { track("x}"); }
          </script>"#;
        let value = data(page, "runParams").unwrap();
        assert_eq!(
            value["data"]["titleModule"]["subject"],
            "Orvane \"Tidewatch\" 1:1"
        );
        assert_eq!(value["data"]["priceModule"]["minAmount"]["value"], 59.5);
        assert_eq!(value["isNew"], true);
        assert_eq!(value["old"], Value::Null);
        assert_eq!(value["tags"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn a_json_island_is_read_by_its_id() {
        let page = r#"<script id="__NEXT_DATA__" type="application/json">
            {"props":{"pageProps":{"product":{"name":"Orvane Cloudstep 3","price":{"amount":"39.00"}}}}}
            </script>"#;
        let value = data(page, "__NEXT_DATA__").unwrap();
        assert_eq!(
            value["props"]["pageProps"]["product"]["name"],
            "Orvane Cloudstep 3"
        );
    }

    #[test]
    fn broken_or_hostile_scripts_give_nothing() {
        assert_eq!(
            data(
                "<script>window.runParams = {data: {a: 1</script>",
                "runParams"
            ),
            None
        );
        assert_eq!(data("<script>runParams = 5;</script>", "runParams"), None);
        let deep = format!(
            "<script>x = {}{}</script>",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Deeper than serde_json's recursion limit: refused, not a crash.
        assert_eq!(data(&deep, "x"), None);
    }
}
