//! The payload of an in-flight entry (see [`InflightEntry`]) decoded in one
//! pass, into one buffer of at most the escaped length: a payload of
//! megabytes is not decoded through a growing scratch buffer and copied
//! out of it.

use super::InflightEntry;

/// The payload of an in-flight entry, byte for byte: what
/// `InflightEntry::parse(raw)?.payload` gives.
pub(crate) fn inflight_payload(raw: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    match flat_payload(raw) {
        Some(payload) => Ok(payload),
        // Not the compact object of strings `cjson` writes: the general parser.
        None => InflightEntry::parse(raw).map(|entry| entry.payload),
    }
}

/// The `payload` member of a compact JSON object whose members are all
/// strings; `None` for anything else.
fn flat_payload(raw: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut payload = None;
    (raw.first()? == &b'{').then_some(())?;
    at += 1;
    loop {
        let key = string(raw, &mut at)?;
        (raw.get(at)? == &b':').then_some(())?;
        at += 1;
        let value = string(raw, &mut at)?;
        if key == b"payload" {
            if payload.is_some() {
                return None;
            }
            payload = Some(value);
        }
        match raw.get(at)? {
            b',' => at += 1,
            b'}' => break,
            _ => return None,
        }
    }
    (at + 1 == raw.len()).then_some(())?;
    payload
}

/// The JSON string at `*at`, its escapes decoded; moves `*at` past it.
fn string(raw: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    (raw.get(*at)? == &b'"').then_some(())?;
    let body = raw.get(*at + 1..)?;
    let mut end = 0;
    while *body.get(end)? != b'"' {
        end += if body[end] == b'\\' { 2 } else { 1 };
    }
    let body = body.get(..end)?;
    *at += end + 2;
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&byte) = body.get(i) {
        i += 1;
        match byte {
            b'\\' => {
                let escaped = *body.get(i)?;
                i += 1;
                match escaped {
                    b'"' | b'\\' | b'/' => out.push(escaped),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let mut code = hex4(body.get(i..i + 4)?)?;
                        i += 4;
                        if (0xD800..0xDC00).contains(&code) {
                            let low = body.get(i..i + 6).filter(|u| u.starts_with(b"\\u"))?;
                            let low = hex4(&low[2..])?;
                            (0xDC00..0xE000).contains(&low).then_some(())?;
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            i += 6;
                        }
                        let c = char::from_u32(code)?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => return None,
                }
            }
            // A control character must be escaped in JSON.
            0x00..=0x1f => return None,
            _ => out.push(byte),
        }
    }
    Some(out)
}

fn hex4(digits: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(digits).ok()?;
    (text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both decoders agree on `raw`, and the fast one decodes it itself.
    fn agree(raw: &[u8], payload: &[u8]) {
        assert_eq!(flat_payload(raw).as_deref(), Some(payload), "{}", String::from_utf8_lossy(raw));
        assert_eq!(InflightEntry::parse(raw).expect("an entry").payload, payload);
        assert_eq!(inflight_payload(raw).expect("an entry"), payload);
    }

    #[test]
    fn escapes_decode_as_json_says_in_either_member_order() {
        agree(
            br#"{"queue":"q","payload":"{\"class\":\"A\",\"args\":[\"a\/b\\c\"]}"}"#,
            br#"{"class":"A","args":["a/b\c"]}"#,
        );
        agree(br#"{"payload":"\b\f\n\r\t\u0000\u001f\u007f","queue":"q"}"#, b"\x08\x0c\n\r\t\x00\x1f\x7f");
        agree(br#"{"queue":"q","payload":"caf\u00e9 \ud83d\ude00"}"#, "café 😀".as_bytes());
        agree(b"{\"queue\":\"\xff\",\"payload\":\"\xfe\xc3\xa9\"}", b"\xfe\xc3\xa9");
        agree(br#"{"queue":"q","payload":""}"#, b"");
    }

    #[test]
    fn anything_else_goes_to_the_general_parser() {
        for raw in [
            &br#"{ "queue":"q","payload":"p"}"#[..],
            br#"{"queue":"q","payload":"p","payload":"p"}"#,
            br#"{"queue":1,"payload":"p"}"#,
            br#"{"queue":"q","payload":"\ud800"}"#,
            b"{\"queue\":\"q\",\"payload\":\"\n\"}",
            br#"{"queue":"q","payload":"p"} "#,
            br#"{"queue":"q"}"#,
        ] {
            assert_eq!(flat_payload(raw), None, "{}", String::from_utf8_lossy(raw));
        }
        assert_eq!(inflight_payload(br#"{ "queue":"q", "payload":"p" }"#).expect("an entry"), b"p");
        assert!(inflight_payload(br#"{"queue":"q"}"#).is_err());
    }
}
