//! Parties 当事人 and their personal data.
//!
//! Personal data (a person's name, ID number, phone, address; an
//! organisation's contact phone and address) never enters an event. An event
//! carries a salted commitment per field ([`PersonalField`]); the values and
//! salts live in a separate store table ([`PersonalValue`]) that can be
//! erased without touching the hash chain.

use crate::text::Text;
use jiefen_ledger::chain::commit_personal;
use jiefen_ledger::hash::Hash;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A mainland resident ID number (居民身份证号), 18 characters, with a valid
/// GB 11643-1999 check character and a real birth date.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartyError {
    #[error("ID number must be 17 digits followed by a digit or X")]
    IdShape,
    #[error("ID number's check character is wrong (GB 11643)")]
    IdChecksum,
    #[error("ID number's birth date is not a real date")]
    IdBirthDate,
    #[error(
        "phone must be a mainland mobile (11 digits starting 1[3-9]) or a landline with area code"
    )]
    Phone,
    #[error("an organisation must not carry a resident ID number")]
    OrganisationWithIdNumber,
    #[error("a party must have a name")]
    Name,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The GB 11643 check character for the first 17 digits of an ID number;
/// `None` unless `first17` is exactly 17 ASCII digits.
pub fn gb11643_check(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(char::from(CHECK[(sum % 11) as usize]))
}

impl IdNumber {
    pub fn parse(raw: &str) -> Result<Self, PartyError> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(PartyError::IdShape);
        }
        let check = gb11643_check(&s[..17]).ok_or(PartyError::IdShape)?;
        if check != char::from(b[17]) {
            return Err(PartyError::IdChecksum);
        }
        let year: i32 = s[6..10].parse().map_err(|_| PartyError::IdBirthDate)?;
        let month: u8 = s[10..12].parse().map_err(|_| PartyError::IdBirthDate)?;
        let day: u8 = s[12..14].parse().map_err(|_| PartyError::IdBirthDate)?;
        let month = time::Month::try_from(month).map_err(|_| PartyError::IdBirthDate)?;
        if !(1900..=2100).contains(&year)
            || time::Date::from_calendar_date(year, month, day).is_err()
        {
            return Err(PartyError::IdBirthDate);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date digits 7–14 carry (checked real at parse time).
    pub fn birth_date(&self) -> time::Date {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<u32>().unwrap_or(1);
        let month = time::Month::try_from(n(10..12) as u8).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(n(6..10) as i32, month, n(12..14) as u8)
            .unwrap_or(time::Date::MIN)
    }

    /// 110105********1234: region kept, birth date hidden.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl TryFrom<String> for IdNumber {
    type Error = PartyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdNumber> for String {
    fn from(value: IdNumber) -> Self {
        value.0
    }
}

/// Never prints the number itself: Debug output ends up in logs.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A mainland phone number: a mobile (optionally +86) or a landline with its
/// area code. Stored normalised: mobiles as 11 digits, landlines as `0AAA-N`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, PartyError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PartyError::Phone);
        }
        let b = digits.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(Self(digits.to_owned()));
        }
        // Landlines: 0 + 2–3 digit area code + 7–8 digit number. Area codes
        // starting 010/02x are 3 digits in all, the rest 4.
        if b.len() >= 10 && b.len() <= 12 && b[0] == b'0' && b[1] != b'0' {
            let area_len = if b[1] == b'1' || b[1] == b'2' { 3 } else { 4 };
            let local = b.len() - area_len;
            if (7..=8).contains(&local) {
                return Ok(Self(format!(
                    "{}-{}",
                    &digits[..area_len],
                    &digits[area_len..]
                )));
            }
        }
        Err(PartyError::Phone)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 138****5678 for mobiles; landlines keep area code and last four.
    pub fn masked(&self) -> String {
        let s = &self.0;
        if let Some((area, local)) = s.split_once('-') {
            format!("{area}-****{}", &local[local.len() - 4..])
        } else {
            format!("{}****{}", &s[..3], &s[7..])
        }
    }

    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PartyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// The tokens of `text` shaped like a resident ID number (17 digits and a
/// digit or X, whatever its check character) or a mobile number (11 digits,
/// 1[3-9]…), each standing alone between characters that are not ASCII
/// letters or digits. Masked forms (138****5678) do not match. For checking
/// that logs, error messages and security records carry no personal data.
pub fn personal_data_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| {
            let b = t.as_bytes();
            let id_shaped = b.len() == 18
                && b[..17].iter().all(u8::is_ascii_digit)
                && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x');
            let mobile_shaped = b.len() == 11
                && b.iter().all(u8::is_ascii_digit)
                && b[0] == b'1'
                && (b'3'..=b'9').contains(&b[1]);
            id_shaped || mobile_shaped
        })
        .collect()
}

/// 张* — the family name kept, the rest hidden.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    Applicant,
    Respondent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    Person,
    Organisation,
}

/// Which personal field a commitment stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonalFieldKind {
    Name,
    IdNumber,
    Phone,
    Address,
}

impl PersonalFieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::IdNumber => "id_number",
            Self::Phone => "phone",
            Self::Address => "address",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Name, Self::IdNumber, Self::Phone, Self::Address]
            .into_iter()
            .find(|f| f.as_str() == raw)
    }

    /// How the field is shown to a role that does not need it in full.
    pub fn mask(self, value: &str) -> String {
        match self {
            Self::Name => mask_name(value),
            Self::IdNumber => IdNumber::parse(value)
                .map(|id| id.masked())
                .unwrap_or_else(|_| "******".into()),
            Self::Phone => PhoneNumber::parse(value)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "****".into()),
            Self::Address => {
                let kept: String = value.chars().take(6).collect();
                format!("{kept}****")
            }
        }
    }
}

/// A party as the person registering it gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewParty {
    pub role: PartyRole,
    pub kind: PartyKind,
    pub name: Text,
    #[serde(default)]
    pub id_number: Option<IdNumber>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    #[serde(default)]
    pub address: Option<Text>,
}

/// What of a party enters the event: role, kind, an organisation's name
/// (organisations are not people, and their names are what search and
/// repeat detection need), and commitments to every personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartyRecord {
    /// 1-based position within the case, stable for the life of the case.
    pub no: u32,
    pub role: PartyRole,
    pub kind: PartyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    pub personal: Vec<PersonalField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalField {
    pub field: PersonalFieldKind,
    pub commitment: Hash,
}

/// A personal value with the salt of its commitment; stored apart from the
/// events, erasable.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonalValue {
    pub party_no: u32,
    pub field: PersonalFieldKind,
    pub value: String,
    pub salt: [u8; 16],
    pub commitment: Hash,
}

impl fmt::Debug for PersonalValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalValue")
            .field("party_no", &self.party_no)
            .field("field", &self.field)
            .field("value", &self.field.mask(&self.value))
            .finish()
    }
}

impl NewParty {
    pub fn check(&self) -> Result<(), PartyError> {
        if self.kind == PartyKind::Organisation && self.id_number.is_some() {
            return Err(PartyError::OrganisationWithIdNumber);
        }
        Ok(())
    }

    /// Splits the party into its public record and its personal values,
    /// drawing one fresh salt per field from `salt`.
    pub fn split(
        &self,
        no: u32,
        salt: &mut dyn FnMut() -> [u8; 16],
    ) -> (PartyRecord, Vec<PersonalValue>) {
        let mut fields: Vec<(PersonalFieldKind, String)> = Vec::new();
        let organisation = match self.kind {
            PartyKind::Person => {
                fields.push((PersonalFieldKind::Name, self.name.to_string()));
                None
            }
            PartyKind::Organisation => Some(self.name.to_string()),
        };
        if let Some(id) = &self.id_number {
            fields.push((PersonalFieldKind::IdNumber, id.as_str().to_owned()));
        }
        if let Some(p) = &self.phone {
            fields.push((PersonalFieldKind::Phone, p.as_str().to_owned()));
        }
        if let Some(a) = &self.address {
            fields.push((PersonalFieldKind::Address, a.to_string()));
        }
        let values: Vec<PersonalValue> = fields
            .into_iter()
            .map(|(field, value)| {
                let s = salt();
                let commitment = commit_personal(&s, field.as_str(), &value);
                PersonalValue {
                    party_no: no,
                    field,
                    value,
                    salt: s,
                    commitment,
                }
            })
            .collect();
        let record = PartyRecord {
            no,
            role: self.role,
            kind: self.kind,
            organisation,
            personal: values
                .iter()
                .map(|v| PersonalField {
                    field: v.field,
                    commitment: v.commitment,
                })
                .collect(),
        };
        (record, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_found_in_free_text() {
        let text = "申请人电话13812345678，身份证11010519491231002X；\
                    wrong check 110105194912310021 \"phone\":\"13900002222\"";
        assert_eq!(
            personal_data_in(text),
            [
                "13812345678",
                "11010519491231002X",
                "110105194912310021",
                "13900002222"
            ]
        );
        // Masked values, hashes, timestamps and longer numbers are not.
        let clean = "138****5678 110105********002X at_ms=1772438400000 \
                     hash=1381234567800aa 12345678901 case 2026-0000012";
        assert!(personal_data_in(clean).is_empty(), "{clean}");
    }

    #[test]
    fn id_number_checksum() {
        // A well-known valid specimen number (GB 11643 appendix style).
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(PartyError::IdChecksum)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(PartyError::IdShape)
        );
        assert!(IdNumber::parse("11010519491331002X").is_err());
        assert_eq!(
            IdNumber::parse("11010519491231002X").unwrap().masked(),
            "110105********002X"
        );
    }

    #[test]
    fn id_number_birth_date_must_exist() {
        // 1949-02-30 does not exist; pick the check digit that makes the sum valid.
        let body = "11010519490230002";
        let id = format!("{body}{}", gb11643_check(body).unwrap());
        assert_eq!(IdNumber::parse(&id), Err(PartyError::IdBirthDate));
    }

    #[test]
    fn phones() {
        assert_eq!(
            PhoneNumber::parse("138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            PhoneNumber::parse("+8613812345678").unwrap().masked(),
            "138****5678"
        );
        assert_eq!(
            PhoneNumber::parse("010-12345678").unwrap().as_str(),
            "010-12345678"
        );
        assert_eq!(
            PhoneNumber::parse("05665123456").unwrap().as_str(),
            "0566-5123456"
        );
        assert!(PhoneNumber::parse("12812345678").is_err());
        assert!(PhoneNumber::parse("1381234567").is_err());
        assert!(PhoneNumber::parse("abc").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert!(
            !format!("{:?}", IdNumber::parse("11010519491231002X").unwrap()).contains("19491231")
        );
    }

    #[test]
    fn split_keeps_personal_data_out_of_the_record() {
        let party = NewParty {
            role: PartyRole::Applicant,
            kind: PartyKind::Person,
            name: Text::parse("张三").unwrap(),
            id_number: Some(IdNumber::parse("11010519491231002X").unwrap()),
            phone: Some(PhoneNumber::parse("13812345678").unwrap()),
            address: Some(Text::parse("东至县尧渡镇1号").unwrap()),
        };
        let mut n = 0u8;
        let (record, values) = party.split(1, &mut || {
            n += 1;
            [n; 16]
        });
        let json = serde_json::to_string(&record).unwrap();
        for secret in ["张三", "11010519491231002X", "13812345678", "尧渡镇"] {
            assert!(!json.contains(secret), "{secret} leaked into {json}");
        }
        assert_eq!(values.len(), 4);
        for v in &values {
            assert_eq!(
                v.commitment,
                commit_personal(&v.salt, v.field.as_str(), &v.value)
            );
        }
        // Distinct salts give distinct commitments for equal values.
        assert_ne!(values[0].salt, values[1].salt);
    }
}
