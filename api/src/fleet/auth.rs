//! How a unit proves who it is, and how fleet admin requests are authorised.
//!
//! On `/ws/device` rendezvous first sends a fresh random challenge; the unit answers with
//! its device id and its ed25519 signature of [`challenge_message`]. The message binds the
//! device id and the server's challenge, so a signature is good for one connection only.
//!
//! Fleet admin requests (revoke a unit, list the registry) carry
//! `Authorization: Bearer <admin credential>`, an HMAC of a fixed label under the fleet's
//! enrollment key: whoever may enroll units may revoke them, and the key itself never
//! travels.

use hmac::{KeyInit as _, Mac as _};

use super::b64;

/// What a unit signs to connect.
pub fn challenge_message(device_id: &str, challenge: &str) -> Vec<u8> {
    format!("visavis device auth v1\n{device_id}\n{challenge}\n").into_bytes()
}

/// The bearer credential for fleet admin requests, derived from the enrollment key.
pub fn admin_credential(enrollment_key: &[u8; 32]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(enrollment_key).expect("HMAC takes any key");
    mac.update(b"visavis fleet admin v1");
    b64(&mac.finalize().into_bytes())
}

/// Whether `given` is the admin credential for `enrollment_key`, compared in constant time.
pub fn is_admin_credential(enrollment_key: &[u8; 32], given: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let expected = admin_credential(enrollment_key);
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::keys::{DeviceKey, verify};
    use crate::fleet::random;

    #[test]
    fn a_signature_is_bound_to_device_and_challenge() {
        let key = DeviceKey::from_bytes(&random());
        let sig = key.sign(&challenge_message("unit-1", "abc"));
        assert!(verify(
            &key.public_key(),
            &challenge_message("unit-1", "abc"),
            &sig
        ));
        assert!(!verify(
            &key.public_key(),
            &challenge_message("unit-2", "abc"),
            &sig
        ));
        assert!(!verify(
            &key.public_key(),
            &challenge_message("unit-1", "abd"),
            &sig
        ));
    }

    #[test]
    fn admin_credential_depends_on_the_key() {
        let key = random::<32>();
        let cred = admin_credential(&key);
        assert!(is_admin_credential(&key, &cred));
        assert!(!is_admin_credential(&random::<32>(), &cred));
        assert!(!is_admin_credential(&key, ""));
    }
}
