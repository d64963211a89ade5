//! The Gmail models against Google's discovery document
//! (`tests/data/gmail.v1.json`, copied from `shared/reference/`): every
//! field a model reads or writes exists in its schema with a compatible
//! type, and every schema property a model leaves out is listed here as
//! left out on purpose. Plus the helpers that decode what Gmail sends.

use mailgrant::gmail::{
    History, HistoryLabelChange, HistoryList, HistoryMessageChange, Label, LabelColor, LabelList,
    Message, MessageList, MessagePart, MessagePartBody, MessageRef, Profile, Thread, ThreadList,
    decode_base64url,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

const DISCOVERY: &str = include_str!("data/gmail.v1.json");

fn schemas() -> Map<String, Value> {
    let document: Value = serde_json::from_str(DISCOVERY).unwrap();
    document["schemas"].as_object().unwrap().clone()
}

/// A value with every property of `schema` set, nested schemas included
/// (to `depth`), typed as the document says: what Google could send.
fn sample(schemas: &Map<String, Value>, schema: &str, depth: usize) -> Value {
    let properties = schemas[schema]["properties"].as_object().unwrap();
    let mut object = Map::new();
    for (name, property) in properties {
        if let Some(value) = sample_of(schemas, property, depth) {
            object.insert(name.clone(), value);
        }
    }
    Value::Object(object)
}

fn sample_of(schemas: &Map<String, Value>, property: &Value, depth: usize) -> Option<Value> {
    if let Some(reference) = property["$ref"].as_str() {
        return (depth > 0).then(|| sample(schemas, reference, depth - 1));
    }
    Some(match property["type"].as_str().unwrap() {
        "string" => match property["format"].as_str() {
            Some("uint64" | "int64") => json!("1234567"),
            Some("byte") => json!("aGVsbG8gd29ybGQ"),
            _ => json!("text"),
        },
        "integer" => json!(42),
        "boolean" => json!(true),
        "array" => Value::Array(
            sample_of(schemas, &property["items"], depth)
                .into_iter()
                .collect(),
        ),
        "object" => json!({}),
        other => panic!("unknown type {other}"),
    })
}

/// Reads a full sample of `schema` into `T`, writes it back, and checks
/// the written fields against the schema; returns the schema's properties
/// `T` did not keep.
fn check<T: Serialize + DeserializeOwned>(schema: &str) -> Vec<String> {
    let schemas = schemas();
    let input = sample(&schemas, schema, 3);
    let model: T = serde_json::from_value(input.clone())
        .unwrap_or_else(|e| panic!("{schema}: a full sample does not read: {e}\n{input}"));
    let output = serde_json::to_value(&model).unwrap();
    conforms(&schemas, schema, &output, schema);
    let written = output.as_object().unwrap();
    let mut left_out: Vec<String> = schemas[schema]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !written.contains_key(*k))
        .cloned()
        .collect();
    left_out.sort();
    left_out
}

/// Every field of `value` is a property of `schema`, of its JSON type.
fn conforms(schemas: &Map<String, Value>, schema: &str, value: &Value, at: &str) {
    let properties = schemas[schema]["properties"].as_object().unwrap();
    for (name, field) in value.as_object().unwrap() {
        let property = properties
            .get(name)
            .unwrap_or_else(|| panic!("{at}.{name} is not in the discovery document's {schema}"));
        conforms_to(schemas, property, field, &format!("{at}.{name}"));
    }
}

fn conforms_to(schemas: &Map<String, Value>, property: &Value, field: &Value, at: &str) {
    if let Some(reference) = property["$ref"].as_str() {
        assert!(field.is_object(), "{at} should be an object ({reference})");
        return conforms(schemas, reference, field, at);
    }
    let fits = match property["type"].as_str().unwrap() {
        "string" => field.is_string(),
        "integer" => field.is_u64() || field.is_i64(),
        "boolean" => field.is_boolean(),
        "object" => field.is_object(),
        "array" => {
            for item in field
                .as_array()
                .unwrap_or_else(|| panic!("{at} should be an array"))
            {
                conforms_to(schemas, &property["items"], item, &format!("{at}[]"));
            }
            true
        }
        _ => false,
    };
    assert!(fits, "{at}: {field} does not fit {property}");
}

fn names(list: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    names.sort();
    names
}

#[test]
fn message_fields_match_the_discovery_document() {
    // Classification labels are a Workspace feature outside reading mail.
    assert_eq!(
        check::<Message>("Message"),
        names(&["classificationLabelValues"])
    );
    assert!(check::<MessagePart>("MessagePart").is_empty());
    assert!(check::<MessagePartBody>("MessagePartBody").is_empty());
    assert!(check::<mailgrant::gmail::Header>("MessagePartHeader").is_empty());
}

#[test]
fn list_item_refs_keep_only_the_ids_google_sends_in_lists() {
    // "Each message resource contains only an id and a threadId".
    let left_out = check::<MessageRef>("Message");
    assert_eq!(
        left_out,
        names(&[
            "classificationLabelValues",
            "historyId",
            "internalDate",
            "labelIds",
            "payload",
            "raw",
            "sizeEstimate",
            "snippet",
        ])
    );
    assert!(check::<MessageList>("ListMessagesResponse").is_empty());
}

#[test]
fn thread_label_and_profile_fields_match_the_discovery_document() {
    assert!(check::<Thread>("Thread").is_empty());
    assert!(check::<ThreadList>("ListThreadsResponse").is_empty());
    assert!(check::<Label>("Label").is_empty());
    assert!(check::<LabelColor>("LabelColor").is_empty());
    assert!(check::<LabelList>("ListLabelsResponse").is_empty());
    assert!(check::<Profile>("Profile").is_empty());
}

#[test]
fn history_fields_match_the_discovery_document() {
    assert!(check::<History>("History").is_empty());
    assert!(check::<HistoryMessageChange>("HistoryMessageAdded").is_empty());
    assert!(check::<HistoryMessageChange>("HistoryMessageDeleted").is_empty());
    assert!(check::<HistoryLabelChange>("HistoryLabelAdded").is_empty());
    assert!(check::<HistoryLabelChange>("HistoryLabelRemoved").is_empty());
    assert!(check::<HistoryList>("ListHistoryResponse").is_empty());
}

#[test]
fn empty_lists_may_be_absent_as_google_sends_them() {
    let page: MessageList = serde_json::from_str(r#"{"resultSizeEstimate":0}"#).unwrap();
    let history: HistoryList = serde_json::from_str(r#"{"historyId":"1710"}"#).unwrap();
    let threads: ThreadList = serde_json::from_str(r#"{"resultSizeEstimate":0}"#).unwrap();
    assert!(page.messages.is_empty() && page.next_page_token.is_none());
    assert!(history.history.is_empty() && history.history_id == "1710");
    assert!(threads.threads.is_empty());
}

#[test]
fn base64url_decodes_padded_or_not_and_refuses_other_text() {
    // "hi?>" has both URL-safe characters in its encoding: aGk_Pg
    assert_eq!(decode_base64url("aGk_Pg", "t").unwrap(), b"hi?>");
    assert_eq!(decode_base64url("aGk_Pg==", "t").unwrap(), b"hi?>");
    assert_eq!(decode_base64url("aGk_\r\nPg", "t").unwrap(), b"hi?>");
    assert!(
        decode_base64url("aGk/Pg==", "t").is_err(),
        "standard alphabet is not base64url"
    );
    let body = MessagePartBody {
        attachment_id: None,
        size: 4,
        data: Some("aGk_Pg".to_owned()),
    };
    assert_eq!(body.decoded().unwrap().unwrap(), b"hi?>");
    let raw = Message {
        raw: Some("U3ViamVjdDogaGk=".to_owned()),
        ..Message::default()
    };
    assert_eq!(raw.raw_bytes().unwrap().unwrap(), b"Subject: hi");
}

#[test]
fn headers_are_found_case_insensitively_and_the_internal_date_is_a_time() {
    let message: Message = serde_json::from_value(json!({
        "id": "m1",
        "internalDate": "1709720100000",
        "payload": {
            "mimeType": "multipart/mixed",
            "headers": [{"name": "Subject", "value": "Lisbon"}, {"name": "Received", "value": "a"},
                        {"name": "received", "value": "b"}],
            "parts": [
                {"partId": "0", "mimeType": "text/plain", "body": {"size": 2, "data": "aGk"}},
                {"partId": "1", "mimeType": "application/pdf", "filename": "a.pdf",
                 "body": {"size": 9, "attachmentId": "ANGj"}}
            ]
        }
    }))
    .unwrap();
    assert_eq!(message.header("subject"), Some("Lisbon"));
    assert_eq!(message.header("X-Missing"), None);
    let payload = message.payload.as_ref().unwrap();
    assert_eq!(
        payload.headers_named("RECEIVED").collect::<Vec<_>>(),
        ["a", "b"]
    );
    let text = payload.find_by_mime_type("TEXT/PLAIN").unwrap();
    assert_eq!(
        text.body.as_ref().unwrap().decoded().unwrap().unwrap(),
        b"hi"
    );
    assert_eq!(message.attachments().len(), 1);
    assert_eq!(message.parts().len(), 3);
    let date = message.internal_date().unwrap();
    assert_eq!(date.unix_timestamp(), 1_709_720_100);
    assert_eq!(
        (date.year(), u8::from(date.month()), date.day()),
        (2024, 3, 6)
    );
}
