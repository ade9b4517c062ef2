//! Lower-case hex for ids and hashes (stored keys, audit fields, admin output).

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from exactly 64 hex digits.
pub fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_refusals() {
        let id = [0xab; 32];
        assert_eq!(super::unhex(&super::hex(&id)), Some(id));
        assert_eq!(super::unhex("ab"), None);
        assert_eq!(super::unhex(&"zz".repeat(32)), None);
    }
}
