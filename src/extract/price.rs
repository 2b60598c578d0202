//! Prices as marketplaces write them: "US $1,299.99", "1.299,99 €", "¥1,299",
//! "£12", "EUR 12,99", "12.99 - 15.99" → an amount and an ISO 4217 code.

/// A parsed price: the amount (the lower end of a range) and the currency,
/// when the text names one.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub amount: f64,
    pub currency: Option<String>,
}

/// Currency markers, longest first so "US $" wins over "$".
const MARKERS: &[(&str, &str)] = &[
    ("US $", "USD"),
    ("US$", "USD"),
    ("USD", "USD"),
    ("C $", "CAD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("CAD", "CAD"),
    ("AU $", "AUD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("AUD", "AUD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("S$", "SGD"),
    ("R$", "BRL"),
    ("MX$", "MXN"),
    ("CN¥", "CNY"),
    ("RMB", "CNY"),
    ("元", "CNY"),
    ("円", "JPY"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("JPY", "JPY"),
    ("CNY", "CNY"),
    ("CHF", "CHF"),
    ("INR", "INR"),
    ("SEK", "SEK"),
    ("NOK", "NOK"),
    ("DKK", "DKK"),
    ("PLN", "PLN"),
    ("zł", "PLN"),
    ("COL$", "COP"),
    ("CLP$", "CLP"),
    ("CLP", "CLP"),
    ("COP", "COP"),
    ("ARS", "ARS"),
    ("MXN", "MXN"),
    ("BRL", "BRL"),
    ("KRW", "KRW"),
    ("IDR", "IDR"),
    ("VND", "VND"),
    ("TRY", "TRY"),
    ("RUB", "RUB"),
    ("AED", "AED"),
    ("ZAR", "ZAR"),
    ("CZK", "CZK"),
    ("HUF", "HUF"),
    ("Kč", "CZK"),
    ("Ft", "HUF"),
    ("Rp", "IDR"),
    ("TL", "TRY"),
    ("руб", "RUB"),
    ("₫", "VND"),
    ("₱", "PHP"),
    ("฿", "THB"),
    ("₪", "ILS"),
    ("₴", "UAH"),
    ("₦", "NGN"),
    ("원", "KRW"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    // The full-width sign Chinese and Japanese pages write.
    ("￥", "JPY"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₺", "TRY"),
    ("$", "USD"),
];

/// An amount as people read it: "29.99 USD", or "—" when there is none.
pub fn display_price(amount: Option<f64>, currency: Option<&str>) -> String {
    match (amount, currency) {
        (Some(amount), Some(currency)) => format!("{amount:.2} {currency}"),
        (Some(amount), None) => format!("{amount:.2}"),
        (None, _) => "—".into(),
    }
}

/// Finds the currency named in `text`, if any.
pub(crate) fn currency_in(text: &str) -> Option<String> {
    marker_in(text).map(|(_, code)| code.to_string())
}

/// The first (longest) currency marker in `text` and its code. A marker
/// of letters counts only as a word of its own: "EUR" in "12 EUR", not in
/// "EUROPE"; "Rp" in "Rp 15.000", not in "SHARP".
fn marker_in(text: &str) -> Option<(&'static str, &'static str)> {
    let upper = text.to_uppercase();
    MARKERS
        .iter()
        .find(|(marker, _)| {
            let marker = marker.to_uppercase();
            let lettered = marker.chars().next().is_some_and(char::is_alphabetic);
            upper.match_indices(&marker).any(|(at, _)| {
                let before = upper[..at].chars().next_back();
                let after = upper[at + marker.len()..].chars().next();
                let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
                !lettered || (!letter(before) && !letter(after))
            })
        })
        .copied()
}

/// The currency `text` names, with a site's own currency for what does
/// not say, or says only "$" or "¥" (dollars and yen or yuan of many
/// countries): JD's "¥1699" is yuan, Mercado Libre Mexico's "$ 249" pesos.
pub fn currency_at_site(text: &str, site_currency: Option<&str>) -> Option<String> {
    match (marker_in(text), site_currency) {
        (Some(("$" | "¥" | "￥", _)) | None, Some(site)) => Some(site.to_string()),
        (found, _) => found.map(|(_, code)| code.to_string()),
    }
}

/// Normalises a currency as a page writes it ("usd", "€") to an ISO code.
pub fn normalise_currency(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.len() == 3 && raw.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(raw.to_ascii_uppercase());
    }
    currency_in(raw)
}

/// Parses a price as written on a page. `None` when there is no number.
pub fn parse_price(text: &str) -> Option<Price> {
    let text = text.trim();
    if text.is_empty() || text.len() > 200 {
        return None;
    }
    // Spaces that group thousands: no-break, narrow no-break, thin.
    let text: String = text
        .chars()
        .map(|c| match c {
            '\u{a0}' | '\u{202f}' | '\u{2009}' => ' ',
            c => c,
        })
        .collect();
    let amount = first_amount(&text)?;
    Some(Price {
        amount,
        currency: currency_in(&text),
    })
}

/// The first number in `text` that is not a percentage, reading `,` and
/// `.` as a thousands or decimal separator from their position.
fn first_amount(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let start = from + bytes[from..].iter().position(|b| b.is_ascii_digit())?;
        let (amount, end) = amount_at(text, start)?;
        // "40% off" is no price; nor are digits in a soup of letters and
        // digits ("MzI5Ljk5", an encoded price), unlike a currency stuck
        // to its amount ("RM50", "Rs1,599.00").
        let percent = text[end..].trim_start().starts_with('%');
        // Where the word begins: just past the last space of any width.
        let token_start = text[..start]
            .trim_end_matches(|c: char| !c.is_whitespace())
            .len();
        let token_end = text[start..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| start + i);
        if !percent && !is_code(&text[token_start..token_end]) {
            return Some(amount);
        }
        let end = if percent { end } else { token_end.max(end) };
        from = end;
    }
}

/// Whether a word switches between letters and digits more than once: a
/// code, not an amount ("MzI5Ljk5", "A1B2").
fn is_code(word: &str) -> bool {
    let kinds: Vec<bool> = word
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.is_ascii_digit())
        .collect();
    kinds.windows(2).filter(|pair| pair[0] != pair[1]).count() >= 2
}

/// The number starting at byte `start` (a digit) and where it ends.
fn amount_at(text: &str, start: usize) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() {
        let b = bytes[end];
        let separator_then_digit = matches!(b, b',' | b'.' | b'\'' | b' ')
            && bytes.get(end + 1).is_some_and(|n| n.is_ascii_digit());
        if b.is_ascii_digit() || separator_then_digit {
            end += 1;
        } else {
            break;
        }
    }
    // Cents set apart by a space ("$119. 95", "118, 99 TL").
    let cents_apart = matches!(bytes.get(end), Some(b'.' | b','))
        && bytes.get(end + 1) == Some(&b' ')
        && bytes.get(end + 2).is_some_and(u8::is_ascii_digit)
        && bytes.get(end + 3).is_some_and(u8::is_ascii_digit)
        && !bytes.get(end + 4).is_some_and(u8::is_ascii_digit);
    // A decimal point with nothing before it (".75 €", "$.75").
    let bare_fraction = start > 0
        && matches!(bytes[start - 1], b'.' | b',')
        && (start < 2 || !bytes[start - 2].is_ascii_digit());
    if cents_apart {
        let whole: String = text[start..end]
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let number = format!("{whole}.{}", &text[end + 2..end + 4]);
        return number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .map(|v| (v, end + 4));
    }
    if bare_fraction {
        let digits: String = text[start..end]
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let number = format!("0.{digits}");
        return number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .map(|v| (v, end));
    }
    let token: String = text[start..end]
        .chars()
        .filter(|c| !matches!(c, '\'' | ' '))
        .collect();
    let last_dot = token.rfind('.');
    let last_comma = token.rfind(',');
    let normalised = match (last_dot, last_comma) {
        (Some(d), Some(c)) => {
            // Both present: the later one is the decimal separator.
            let (decimal, thousands) = if d > c { ('.', ',') } else { (',', '.') };
            token.replace(thousands, "").replace(decimal, ".")
        }
        (Some(_), None) => single_separator(&token, '.'),
        (None, Some(_)) => single_separator(&token, ','),
        (None, None) => token,
    };
    normalised
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| (v, end))
}

/// With only one kind of separator: repeated, or followed by exactly three
/// digits at the end, it groups thousands ("1,299", "1.299.000"); otherwise
/// it is the decimal point ("12,99", "12.5").
fn single_separator(token: &str, sep: char) -> String {
    let count = token.matches(sep).count();
    let after_last = token.rsplit(sep).next().map_or(0, str::len);
    if count > 1 || after_last == 3 {
        token.replace(sep, "")
    } else {
        token.replace(sep, ".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (f64, Option<&'static str>) {
        let price = parse_price(text).unwrap_or_else(|| panic!("no price in {text:?}"));
        let code = price.currency.map(|c| &*Box::leak(c.into_boxed_str()));
        (price.amount, code)
    }

    #[test]
    fn marketplace_price_formats() {
        assert_eq!(parsed("US $1,299.99"), (1299.99, Some("USD")));
        assert_eq!(parsed("1.299,99 €"), (1299.99, Some("EUR")));
        assert_eq!(parsed("¥1,299"), (1299.0, Some("JPY")));
        assert_eq!(parsed("£12"), (12.0, Some("GBP")));
        assert_eq!(parsed("12.99 - 15.99"), (12.99, None));
        assert_eq!(parsed("12,99 €"), (12.99, Some("EUR")));
        assert_eq!(parsed("EUR 1 299,00"), (1299.0, Some("EUR")));
        assert_eq!(parsed("CHF 1'299.50"), (1299.5, Some("CHF")));
        assert_eq!(parsed("$0.99"), (0.99, Some("USD")));
        assert_eq!(parsed("C$ 45"), (45.0, Some("CAD")));
        assert_eq!(parsed("1.299.000 ₫"), (1_299_000.0, Some("VND")));
        assert_eq!(parsed("Price: 149"), (149.0, None));
    }

    /// Currencies without a minor unit (CLP, COP, IDR, KRW, JPY) and their
    /// countries' ways of grouping thousands.
    #[test]
    fn currencies_without_cents_and_their_grouping() {
        assert_eq!(parsed("$ 24.990"), (24_990.0, Some("USD")));
        assert_eq!(parsed("CLP$ 249.990"), (249_990.0, Some("CLP")));
        assert_eq!(parsed("COL$ 1.250.000"), (1_250_000.0, Some("COP")));
        assert_eq!(parsed("Rp 1.500.000"), (1_500_000.0, Some("IDR")));
        assert_eq!(parsed("₩12,000"), (12_000.0, Some("KRW")));
        assert_eq!(parsed("12,000원"), (12_000.0, Some("KRW")));
        assert_eq!(parsed("3,500円"), (3_500.0, Some("JPY")));
        assert_eq!(parsed("44.890 Ft"), (44_890.0, Some("HUF")));
        // Thousands grouped by no-break or thin spaces; cents set apart.
        assert_eq!(parsed("1\u{a0}298,00 €"), (1_298.0, Some("EUR")));
        assert_eq!(parsed("2\u{202f}499 Kč"), (2_499.0, Some("CZK")));
        assert_eq!(parsed("118, 99 TL"), (118.99, Some("TRY")));
        assert_eq!(parsed("$.75"), (0.75, Some("USD")));
        // A percentage is not a price; the amount after it is.
        assert_eq!(parse_price("40% OFF"), None);
        assert_eq!(parsed("-20% 19,99 €"), (19.99, Some("EUR")));
        // Letters of a word are no currency.
        assert_eq!(parsed("SHARP 4K TV 499"), (4.0, None));
        assert_eq!(currency_in("EUROPEAN PLUG 12"), None);
        // Digits inside a word are no amount (an encoded price, a model).
        assert_eq!(parse_price("Online Price MzI5Ljk5 $"), None);
        assert_eq!(parsed("RM50"), (50.0, None));
        assert_eq!(parsed("Rp15.000"), (15_000.0, Some("IDR")));
        assert_eq!(parsed("EUR12,99"), (12.99, Some("EUR")));
    }

    #[test]
    fn no_number_is_no_price() {
        assert_eq!(parse_price("Sold out"), None);
        assert_eq!(parse_price(""), None);
    }

    /// Spaces wider than one byte before an amount (an en quad, an
    /// ideographic space) end the word before it, not inside themselves.
    #[test]
    fn wide_spaces_before_an_amount() {
        assert_eq!(parsed("\u{10732}\u{2000}0"), (0.0, None));
        assert_eq!(parsed("価格\u{3000}1,200"), (1200.0, None));
    }

    #[test]
    fn currency_normalisation() {
        assert_eq!(normalise_currency("usd").as_deref(), Some("USD"));
        assert_eq!(normalise_currency("€").as_deref(), Some("EUR"));
        assert_eq!(normalise_currency("  GBP ").as_deref(), Some("GBP"));
    }
}
