//! The Docker credential-helper protocol (`credhelper::parse_answer`): any exit status and stdout.
//! Never a panic; an error never carries a byte of the helper's output (its stdout is where the
//! secret is); a found credential round-trips through the JSON a helper prints.
#![no_main]

use appkit::oci::credhelper::{parse_answer, Answer, HelperError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, stdout)) = data.split_first() else {
        return;
    };
    let success = first & 1 == 1;
    match parse_answer(success, stdout) {
        Ok(Answer::Found(user, secret)) => {
            assert!(success, "a failing helper never yields credentials");
            assert!(!secret.is_empty());
            let again = serde_json::json!({"Username": user, "Secret": secret}).to_string();
            assert_eq!(
                parse_answer(true, again.as_bytes()),
                Ok(Answer::Found(user.clone(), secret.clone()))
            );
        }
        Ok(Answer::NotFound) => {}
        // The only texts an error may hold: none comes from the output.
        Err(HelperError::Failed(s)) => assert_eq!(s, "exit status non-zero"),
        Err(HelperError::NotAnAnswer) => assert!(success),
        Err(e) => panic!("parse_answer cannot fail with {e:?}"),
    }
});
