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

/// The first (longest) currency marker in `text` and its code.
fn marker_in(text: &str) -> Option<(&'static str, &'static str)> {
    let upper = text.to_uppercase();
    MARKERS
        .iter()
        .find(|(marker, _)| upper.contains(&marker.to_uppercase()))
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
    let amount = first_amount(text)?;
    Some(Price {
        amount,
        currency: currency_in(text),
    })
}

/// The first number in `text`, reading `,` and `.` as a thousands or decimal
/// separator from their position.
fn first_amount(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| b.is_ascii_digit())?;
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
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
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
        assert_eq!(parsed("1.299.000 ₫"), (1_299_000.0, None));
        assert_eq!(parsed("Price: 149"), (149.0, None));
    }

    #[test]
    fn no_number_is_no_price() {
        assert_eq!(parse_price("Sold out"), None);
        assert_eq!(parse_price(""), None);
    }

    #[test]
    fn currency_normalisation() {
        assert_eq!(normalise_currency("usd").as_deref(), Some("USD"));
        assert_eq!(normalise_currency("€").as_deref(), Some("EUR"));
        assert_eq!(normalise_currency("  GBP ").as_deref(), Some("GBP"));
    }
}
