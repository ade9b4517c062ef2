//! The withheld login answer as stored (sealed) between the password and the second factor.
//! The store is trusted, but the decoder must still never panic, and what it decodes must come
//! back unchanged through `encode`. Input: the stored bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_gateway::intercept::withheld::WithheldAnswer;

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = WithheldAnswer::decode(data) else {
        return;
    };
    let encoded = answer.encode();
    let back = match WithheldAnswer::decode(&encoded) {
        Ok(back) => back,
        Err(e) => panic!("an encoded answer does not decode: {e}"),
    };
    assert_eq!(
        back, answer,
        "the answer changed in an encode/decode round trip"
    );
    assert_eq!(*back.encode(), *encoded, "encoding is not stable");
});
