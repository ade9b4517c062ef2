//! Why a login body was refused: the one error every body reader returns.

/// Why a login body was refused. Each variant is a fixed reason without user data: only the
/// [`label`](Ambiguous::label) goes to logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ambiguous {
    #[error("the content type does not fit the login rule")]
    WrongContentType,
    #[error("the content type is not well formed")]
    ContentTypeSyntax,
    #[error("a content type parameter is given twice")]
    DuplicateParameter,
    #[error("the content type has a parameter the body kind does not allow")]
    UnexpectedParameter,
    #[error("a character set other than UTF-8 is declared")]
    Charset,
    #[error("the form body has a `;`, which old parsers read as a separator")]
    Separator,
    #[error("a percent escape is malformed")]
    PercentEncoding,
    #[error("a field name or the user name is not UTF-8")]
    NotUtf8,
    #[error("the user name field is given more than once")]
    DuplicateField,
    #[error("the user name field is spelled differently from the rule")]
    FieldSpelling,
    #[error("the user name field is also in the query string")]
    FieldInQuery,
    #[error("the multipart body is not in the shape browsers send")]
    MultipartShape,
    #[error("the user name part is a file or not plain text")]
    FieldNotText,
    #[error("the body is not one strict JSON document")]
    JsonSyntax,
    #[error("a JSON object has a key twice")]
    JsonDuplicateKey,
    #[error("the user name in the JSON body is not a string")]
    JsonNotAString,
    #[error("the user name has a control or format character")]
    ControlCharacter,
    #[error("the user name is too long")]
    TooLong,
    #[error("the login rule's body kind and user name field do not fit together")]
    Misconfigured,
}

impl Ambiguous {
    /// A stable name for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::WrongContentType => "wrong_content_type",
            Self::ContentTypeSyntax => "content_type_syntax",
            Self::DuplicateParameter => "duplicate_parameter",
            Self::UnexpectedParameter => "unexpected_parameter",
            Self::Charset => "charset",
            Self::Separator => "separator",
            Self::PercentEncoding => "percent_encoding",
            Self::NotUtf8 => "not_utf8",
            Self::DuplicateField => "duplicate_field",
            Self::FieldSpelling => "field_spelling",
            Self::FieldInQuery => "field_in_query",
            Self::MultipartShape => "multipart_shape",
            Self::FieldNotText => "field_not_text",
            Self::JsonSyntax => "json_syntax",
            Self::JsonDuplicateKey => "json_duplicate_key",
            Self::JsonNotAString => "json_not_a_string",
            Self::ControlCharacter => "control_character",
            Self::TooLong => "too_long",
            Self::Misconfigured => "misconfigured",
        }
    }
}
