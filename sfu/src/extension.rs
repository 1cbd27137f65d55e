//! RTP header-extension elements (RFC 8285) and the audio level (RFC 6464).
//!
//! An extension body (located by `rtp.rs`) holds a list of elements, each an id and a few
//! bytes. RFC 8285 defines two forms, told apart by the preamble's profile:
//! - one-byte (profile 0xBEDE): `ID(4) | L(4)` then L+1 bytes; ID 0 is a padding byte and
//!   ID 15 ends the list;
//! - two-byte (profile 0x100x, the low 4 bits are "appbits"): an ID byte and a length byte
//!   (0..=255) then that many bytes; an ID byte of 0 is padding.
//!
//! Which id means what is normally agreed in SDP. Discord voice has no SDP, so the id of
//! the audio-level element is a setting (`SfuConfig::audio_level_extension_id`, 1 by
//! default, the id libwebrtc and Discord's clients use for it).
//!
//! Invariant: iteration never reads past the body; an element that would is an
//! `Error::ExtensionElementBeyondBody`, after which the iterator stops.

use crate::Error;

/// Profile value of the one-byte form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Profile value of the two-byte form, with its 4 "appbits" zero.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// One extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// 1..=14 in the one-byte form, 1..=255 in the two-byte form.
    pub id: u8,
    /// The element's bytes.
    pub data: &'a [u8],
}

/// Iterator over the elements of an extension body.
///
/// ```
/// use sfu::extension::{Extensions, ONE_BYTE_PROFILE};
/// // id 1, one data byte (the audio level), then two padding bytes.
/// let body = [0x10, 0x85, 0, 0];
/// let ids: Vec<u8> = Extensions::new(ONE_BYTE_PROFILE, &body)
///     .map(|element| element.unwrap().id)
///     .collect();
/// assert_eq!(ids, [1]);
/// ```
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    form: Form,
    body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    OneByte,
    TwoByte,
    /// A profile RFC 8285 does not define: no elements we can read.
    Unknown,
}

impl<'a> Extensions<'a> {
    /// Elements of `body`, read in the form `profile` names. Other profiles yield nothing.
    pub fn new(profile: u16, body: &'a [u8]) -> Extensions<'a> {
        let form = if profile == ONE_BYTE_PROFILE {
            Form::OneByte
        } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
            Form::TwoByte
        } else {
            Form::Unknown
        };
        Extensions { form, body }
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Result<ExtensionElement<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each round either consumes at least one byte or ends, so this terminates.
        loop {
            let (&first, rest) = self.body.split_first()?;
            if first == 0 {
                self.body = rest; // Padding, in both forms.
                continue;
            }
            let (id, len, rest) = match self.form {
                Form::Unknown => return None,
                Form::OneByte if first >> 4 == 15 => {
                    self.body = &[]; // Reserved id 15: stop processing (RFC 8285 §4.2).
                    return None;
                }
                Form::OneByte => (first >> 4, usize::from(first & 0x0F) + 1, rest),
                Form::TwoByte => match rest.split_first() {
                    Some((&len, rest)) => (first, usize::from(len), rest),
                    None => return self.fail(),
                },
            };
            if id == 0 {
                // One-byte form with ID 0 but L != 0: RFC 8285 says padding is a zero
                // byte, so this is malformed.
                return self.fail();
            }
            let Some(data) = rest.get(..len) else {
                return self.fail();
            };
            self.body = &rest[len..];
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

impl Extensions<'_> {
    fn fail<'b>(&mut self) -> Option<Result<ExtensionElement<'b>, Error>> {
        self.body = &[];
        Some(Err(Error::ExtensionElementBeyondBody))
    }
}

/// An RFC 6464 client-to-mixer audio level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevel {
    /// V: the sender's voice activity detector says this packet holds speech.
    pub voice_activity: bool,
    /// 0..=127: the level in -dBov, 0 the loudest and 127 silence.
    pub level: u8,
}

/// Finds the audio-level element with `id` in an extension body.
///
/// Returns `Ok(None)` when the body has no element with that id, or when that element is
/// not the 1 byte RFC 6464 defines; `Err` when the body itself is malformed before the
/// element is found.
///
/// ```
/// use sfu::extension::{find_audio_level, AudioLevel, ONE_BYTE_PROFILE};
/// let level = find_audio_level(ONE_BYTE_PROFILE, &[0x10, 0x80 | 30, 0, 0], 1).unwrap();
/// assert_eq!(level, Some(AudioLevel { voice_activity: true, level: 30 }));
/// ```
pub fn find_audio_level(profile: u16, body: &[u8], id: u8) -> Result<Option<AudioLevel>, Error> {
    for element in Extensions::new(profile, body) {
        let element = element?;
        if element.id == id {
            return Ok(match element.data {
                [byte] => Some(AudioLevel {
                    voice_activity: byte & 0x80 != 0,
                    level: byte & 0x7F,
                }),
                _ => None,
            });
        }
    }
    Ok(None)
}

/// Appends a one-byte-form body holding `elements`, zero-padded to whole words, and
/// returns its length. Each id must be 1..=14 and each data 1..=16 bytes (our own bytes:
/// a bug otherwise).
pub fn encode_one_byte_extensions(elements: &[(u8, &[u8])], out: &mut Vec<u8>) -> usize {
    let start = out.len();
    for &(id, data) in elements {
        assert!((1..=14).contains(&id), "one-byte extension id {id}");
        assert!((1..=16).contains(&data.len()), "one-byte extension length");
        out.push((id << 4) | (data.len() as u8 - 1));
        out.extend_from_slice(data);
    }
    pad_to_word(start, out)
}

/// Appends a two-byte-form body holding `elements`, zero-padded to whole words, and
/// returns its length. Each id must be 1..=255 and each data at most 255 bytes.
pub fn encode_two_byte_extensions(elements: &[(u8, &[u8])], out: &mut Vec<u8>) -> usize {
    let start = out.len();
    for &(id, data) in elements {
        assert!(id != 0, "two-byte extension id 0 is padding");
        out.push(id);
        out.push(u8::try_from(data.len()).expect("two-byte extension data at most 255 bytes"));
        out.extend_from_slice(data);
    }
    pad_to_word(start, out)
}

fn pad_to_word(start: usize, out: &mut Vec<u8>) -> usize {
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    out.len() - start
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_byte_form_with_padding_between_elements() {
        let body = [0x10, 0x7F, 0, 0, 0x21, 0xAA, 0xBB, 0];
        let elements: Vec<_> = Extensions::new(ONE_BYTE_PROFILE, &body)
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            elements,
            [
                ExtensionElement {
                    id: 1,
                    data: &[0x7F]
                },
                ExtensionElement {
                    id: 2,
                    data: &[0xAA, 0xBB]
                },
            ]
        );
    }

    #[test]
    fn one_byte_id_15_stops_processing() {
        let body = [0xF0, 0x10, 0x05, 0];
        assert_eq!(Extensions::new(ONE_BYTE_PROFILE, &body).count(), 0);
    }

    #[test]
    fn two_byte_form_allows_empty_and_long_elements() {
        let long = [7u8; 20];
        let mut body = Vec::new();
        encode_two_byte_extensions(&[(200, &[]), (1, &[0x85]), (3, &long)], &mut body);
        let elements: Vec<_> = Extensions::new(0x1003, &body).map(Result::unwrap).collect();
        assert_eq!(elements.len(), 3);
        assert_eq!(elements[0], ExtensionElement { id: 200, data: &[] });
        assert_eq!(elements[2].data, &long);
        let level = find_audio_level(0x1003, &body, 1).unwrap();
        assert_eq!(
            level,
            Some(AudioLevel {
                voice_activity: true,
                level: 5
            })
        );
    }

    #[test]
    fn elements_beyond_the_body_are_errors() {
        // One-byte: L=3 promises 4 bytes, 2 present.
        let mut one = Extensions::new(ONE_BYTE_PROFILE, &[0x13, 1, 2]);
        assert_eq!(one.next(), Some(Err(Error::ExtensionElementBeyondBody)));
        assert_eq!(one.next(), None);
        // Two-byte: the length byte is missing, then the data is short.
        let mut two = Extensions::new(TWO_BYTE_PROFILE, &[5]);
        assert_eq!(two.next(), Some(Err(Error::ExtensionElementBeyondBody)));
        let mut short = Extensions::new(TWO_BYTE_PROFILE, &[5, 3, 1]);
        assert_eq!(short.next(), Some(Err(Error::ExtensionElementBeyondBody)));
        assert_eq!(
            find_audio_level(ONE_BYTE_PROFILE, &[0x23, 0], 1),
            Err(Error::ExtensionElementBeyondBody)
        );
    }

    #[test]
    fn unknown_profiles_and_wrong_lengths_give_no_level() {
        assert_eq!(Extensions::new(0x1234, &[0x10, 0x05]).count(), 0);
        // id 1 with two bytes is not an RFC 6464 level.
        assert_eq!(
            find_audio_level(ONE_BYTE_PROFILE, &[0x11, 5, 5, 0], 1),
            Ok(None)
        );
        assert_eq!(
            find_audio_level(ONE_BYTE_PROFILE, &[0x20, 5, 0, 0], 1),
            Ok(None)
        );
    }

    fn arb_elements(id_max: u8, len_max: usize) -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
        proptest::collection::vec(
            (
                1..=id_max,
                proptest::collection::vec(any::<u8>(), 1..=len_max),
            ),
            0..6,
        )
    }

    proptest! {
        #[test]
        fn one_byte_round_trip(elements in arb_elements(14, 16)) {
            let borrowed: Vec<(u8, &[u8])> = elements.iter().map(|(i, d)| (*i, &d[..])).collect();
            let mut body = Vec::new();
            let len = encode_one_byte_extensions(&borrowed, &mut body);
            prop_assert_eq!(len % 4, 0);
            let decoded: Vec<(u8, Vec<u8>)> = Extensions::new(ONE_BYTE_PROFILE, &body)
                .map(|e| e.map(|e| (e.id, e.data.to_vec())))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(decoded, elements);
        }

        #[test]
        fn two_byte_round_trip(elements in arb_elements(255, 255)) {
            let borrowed: Vec<(u8, &[u8])> = elements.iter().map(|(i, d)| (*i, &d[..])).collect();
            let mut body = Vec::new();
            encode_two_byte_extensions(&borrowed, &mut body);
            let decoded: Vec<(u8, Vec<u8>)> = Extensions::new(TWO_BYTE_PROFILE, &body)
                .map(|e| e.map(|e| (e.id, e.data.to_vec())))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(decoded, elements);
        }

        #[test]
        fn arbitrary_bodies_never_panic(
            profile in prop_oneof![Just(ONE_BYTE_PROFILE), Just(TWO_BYTE_PROFILE), any::<u16>()],
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut consumed = 0;
            for element in Extensions::new(profile, &body) {
                match element {
                    Ok(element) => consumed += element.data.len(),
                    Err(error) => prop_assert_eq!(error, Error::ExtensionElementBeyondBody),
                }
            }
            prop_assert!(consumed <= body.len());
            let _ = find_audio_level(profile, &body, 1);
        }
    }
}
