//! Validation follows the server's own FollowTheMoney model: 3.5.9 on Aleph 4.1.6, 4.10.0 on
//! OpenAleph 5 (issue 20, spec20 §13). Each server below answers `GET /api/2/metadata` with
//! the real `model.to_dict()` dump of its release (`src/testkit/ftm-3.5.9.json`,
//! `ftm-4.10.0.json`), and the same entities are loaded into both or checked under both.
//!
//! Every case was checked once by hand against followthemoney itself, with the one-liner in
//! its comment run under `FTM3` = a Python with followthemoney 3.5.9 and `FTM4` = one with
//! 4.10.0 (`/tmp/ftm4/bin/python` on the build machine).
#![cfg(feature = "aleph")]

use crate::support::aleph::{KEY, bulk_ids, requests};
use casefile::aleph::{Client, Entity, Model, Problem, PropertyValue, Server, validate};
use casefile::{Error, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FTM3: &str = include_str!("../../src/testkit/ftm-3.5.9.json");
const FTM4: &str = include_str!("../../src/testkit/ftm-4.10.0.json");

/// The two servers: Aleph 4.1.6 with followthemoney 3.5.9, OpenAleph 5.3.0 with 4.10.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Aleph,
    OpenAleph,
}

use Flavor::{Aleph, OpenAleph};

impl Flavor {
    fn dump(self) -> Value {
        let text = match self {
            Aleph => FTM3,
            OpenAleph => FTM4,
        };
        serde_json::from_str(text).unwrap()
    }

    /// The `GET /metadata` body of this server with `model` (`aleph/views/base_api.py`
    /// `metadata`, spec20 §6).
    fn metadata(self, model: Value) -> ResponseTemplate {
        let (version, flags) = match self {
            Aleph => ("4.1.6", json!({"bookmarks": false})),
            OpenAleph => (
                "5.3.0",
                json!({"bookmarks": true, "timelines": true, "lists": true, "diagrams": true}),
            ),
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "maintenance": false,
            "app": {"title": "Aleph", "version": version},
            "categories": {}, "frequencies": {}, "pages": [],
            "model": model, "token": null,
            "auth": {"oauth": false, "require_logged_in": false},
            "feature_flags": flags,
        }))
    }

    /// A server answering `/metadata` with its own model (or `model`) and `_bulk` with 204.
    async fn server_with(self, model: Value) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/2/metadata"))
            .respond_with(self.metadata(model))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/2/collections/4/_bulk"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        server
    }

    async fn server(self) -> MockServer {
        self.server_with(self.dump()).await
    }

    /// A client told which server it talks to (so `/metadata` is fetched for the model only).
    fn client(self, server: &MockServer) -> Client {
        let told = match self {
            Aleph => Server::aleph("4.1.6"),
            OpenAleph => Server::openaleph("5.3.0"),
        };
        Client::builder()
            .base_url(server.uri())
            .api_key(KEY)
            .server(told)
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    }

    /// The model as the client reads it from this server.
    async fn model(self) -> Model {
        let server = self.server().await;
        let model = self.client(&server).model().await.unwrap();
        Model::clone(&model)
    }

    /// Bulk-loads `entities` into collection 4 of this server: the ids each `_bulk` request
    /// carried, or the reasons of the entities refused before sending.
    async fn load(self, entities: Vec<Entity>) -> Result<Vec<String>, Vec<String>> {
        let server = self.server().await;
        let result = self.client(&server).collections().bulk("4", entities).await;
        let sent: Vec<String> = bulk_ids(&requests(&server).await).concat();
        match result {
            Ok(_) => Ok(sent),
            Err(Error::Partial(partial)) => {
                assert!(sent.is_empty(), "refused, yet {sent:?} was sent");
                Err(partial.rejected.iter().map(|r| r.reason.clone()).collect())
            }
            Err(other) => panic!("{self:?}: unexpected error {other:?}"),
        }
    }
}

fn problems(model: &Model, entity: &Entity) -> Vec<Problem> {
    model.check(entity)
}

#[tokio::test]
async fn each_dump_is_read_with_what_its_release_has() {
    let v3 = Aleph.model().await;
    let v4 = OpenAleph.model().await;
    assert_eq!(v3.version, None);
    assert_eq!(v4.version.as_deref(), Some("4.10.0"));

    // followthemoney 3.5.9 has an `iban` type and no lengths; 4.x an identifier with a format.
    let iban3 = &v3.schemata["BankAccount"].properties["iban"];
    assert_eq!(
        (
            iban3.type_name.as_str(),
            iban3.max_length,
            iban3.format.as_deref()
        ),
        ("iban", None, None)
    );
    assert!(v3.types.contains_key("iban"));
    assert_eq!(v3.types["string"].max_length, None);

    let iban4 = &v4.schemata["BankAccount"].properties["iban"];
    assert_eq!(
        (
            iban4.type_name.as_str(),
            iban4.max_length,
            iban4.format.as_deref()
        ),
        ("identifier", Some(64), Some("iban"))
    );
    assert!(!v4.types.contains_key("iban"));
    assert_eq!(v4.types["string"].max_length, Some(1024));
    assert_eq!(v4.types["identifier"].max_length, Some(64));
    // A property's own length (FTM4: model.get('Address').get('postalCode').max_length == 16).
    assert_eq!(
        v4.schemata["Address"].properties["postalCode"].max_length,
        Some(16)
    );
    // FTM4: `model.get('Family').get('relationship').examples` is `['mother', 'sibling']`.
    assert_eq!(
        v4.schemata["Family"].properties["relationship"].examples,
        vec!["mother".to_owned(), "sibling".to_owned()]
    );
}

/// FTM3: `model.get_proxy({'id':'c1','schema':'Company','properties':{'name':['ACME'],
/// 'ibcRuc':['123']}}, cleaned=False).to_dict()['properties']` keeps `ibcRuc`; FTM4 drops it
/// without a word (`{'name': ['ACME']}`).
#[tokio::test]
async fn a_company_with_an_ibc_ruc_loads_into_aleph_and_is_refused_for_openaleph() {
    let company = || {
        vec![
            Entity::new("Company")
                .with_id("c1")
                .add("name", "ACME")
                .add("ibcRuc", "123"),
        ]
    };
    assert_eq!(Aleph.load(company()).await, Ok(vec!["c1".to_owned()]));
    let refused = OpenAleph.load(company()).await.unwrap_err();
    assert_eq!(refused, vec!["unknown property \"ibcRuc\"".to_owned()]);
}

/// FTM3: `model.get('Risk')` is `None`; FTM4: `<Schema('Risk')>`.
#[tokio::test]
async fn a_risk_loads_into_openaleph_and_is_refused_for_aleph() {
    let risk = || {
        vec![
            Entity::new("Risk")
                .with_id("r1")
                .add("entity", "c1")
                .add("reason", "listed")
                .add("topics", "sanction"),
        ]
    };
    assert_eq!(OpenAleph.load(risk()).await, Ok(vec!["r1".to_owned()]));
    let refused = Aleph.load(risk()).await.unwrap_err();
    assert_eq!(refused, vec!["unknown schema \"Risk\"".to_owned()]);
}

/// FTM4: `model.get('Person').validate({'properties': {'name': ['P'], 'position': ['a'*1025]}})`
/// raises `InvalidData` ("Invalid value: 'aaa…'"), with `'a'*1024` it returns `None`; FTM3
/// returns `None` for both (3.5.9 has no lengths).
#[tokio::test]
async fn a_value_over_its_types_length_is_refused_for_openaleph_only() {
    let person = |position: String| {
        vec![
            Entity::new("Person")
                .with_id("p1")
                .add("name", "P")
                .add("position", position),
        ]
    };
    let long = "a".repeat(1025);
    assert_eq!(
        Aleph.load(person(long.clone())).await,
        Ok(vec!["p1".to_owned()])
    );
    let refused = OpenAleph.load(person(long)).await.unwrap_err();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].contains("position")
            && refused[0].contains("1025 characters, more than the 1024"),
        "{refused:?}"
    );
    assert_eq!(
        OpenAleph.load(person("a".repeat(1024))).await,
        Ok(vec!["p1".to_owned()])
    );

    let v4 = OpenAleph.model().await;
    let entity = &person("b".repeat(1100))[0];
    match problems(&v4, entity).as_slice() {
        [
            Problem::TooLong {
                property,
                value,
                length,
                max,
            },
        ] => {
            assert_eq!((property.as_str(), *length, *max), ("position", 1100, 1024));
            assert_eq!(
                value.chars().count(),
                81,
                "cut to 80 characters and an ellipsis"
            );
        }
        other => panic!("{other:?}"),
    }
    // Runs of white space count once, as the server's cleaning of names squeezes them
    // (FTM4: `registry.name.validate('a' + ' ' * 500 + 'b')` is True; name's maxLength is 384).
    let spaced = Entity::new("Person")
        .with_id("p2")
        .add("name", format!("a{}b", " ".repeat(500)));
    assert_eq!(problems(&v4, &spaced), vec![]);
    let long_name = Entity::new("Person")
        .with_id("p3")
        .add("name", "n".repeat(385));
    assert!(
        matches!(
            problems(&v4, &long_name).as_slice(),
            [Problem::TooLong { max: 384, .. }]
        ),
        "{:?}",
        problems(&v4, &long_name)
    );
}

/// followthemoney 4.10 measures a value against its *type's* length, not the property's own
/// `maxLength` (`Property.validate` calls `PropertyType.validate`). FTM4:
/// `model.get('Address').validate({'properties': {'full': ['x'], 'postalCode': ['1'*20]}})`
/// returns `None` although `postalCode` says 16.
#[tokio::test]
async fn a_propertys_own_length_is_not_what_followthemoney_4_checks() {
    let address = Entity::new("Address")
        .with_id("a1")
        .add("full", "x")
        .add("postalCode", "1".repeat(20));
    let v4 = OpenAleph.model().await;
    assert_eq!(problems(&v4, &address), vec![]);
    let too_long = address.clone().add("postalCode", "1".repeat(1025));
    assert!(
        matches!(
            problems(&v4, &too_long).as_slice(),
            [Problem::TooLong { max: 1024, .. }]
        ),
        "{:?}",
        problems(&v4, &too_long)
    );
}

/// An IBAN is an `iban` value under 3.5.9 and an `identifier` (64 characters at most) under 4.
/// FTM4: `model.get('BankAccount').validate({'properties': {'iban': ['DE'+'9'*68]}})` raises
/// `InvalidData`, `... ['DE89370400440532013000'] ...` returns `None`. FTM3 refuses the long
/// one as no IBAN in `validate`, but its `_bulk` keeps it:
/// `model.get_proxy({'id':'b1','schema':'BankAccount','properties':{'iban':['DE'+'9'*68]}},
/// cleaned=False).to_dict()['properties']` has the value; casefile does not check IBANs (nor
/// any type it would have to name), so only the 4.x model refuses it here.
#[tokio::test]
async fn an_iban_is_measured_where_the_model_makes_it_an_identifier() {
    let account = |iban: &str| Entity::new("BankAccount").with_id("b1").add("iban", iban);
    let long = format!("DE{}", "9".repeat(68));
    let (v3, v4) = (Aleph.model().await, OpenAleph.model().await);
    let good = account("DE89370400440532013000");
    assert!(validate(&v3, [&good]).is_empty());
    assert!(validate(&v4, [&good]).is_empty());

    let bad = account(&long);
    assert!(validate(&v3, [&bad]).is_empty());
    let invalid = validate(&v4, [&good, &bad]);
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        (invalid[0].index, invalid[0].id.as_deref()),
        (1, Some("b1"))
    );
    assert!(
        matches!(
            invalid[0].problems.as_slice(),
            [Problem::TooLong {
                length: 70,
                max: 64,
                ..
            }]
        ),
        "{invalid:?}"
    );
}

/// Which properties a schema requires comes from the model. FTM3:
/// `model.get('Passport').required` is `['holder', 'passportNumber', 'number']`, and
/// `model.get('Passport').validate({'properties': {'holder': ['p1'], 'number': ['X1']}})` raises
/// `InvalidData` (passportNumber: Required); FTM4: `['holder', 'number']`, and the same call
/// returns `None`. Both refuse a required property given empty: `validate({'properties':
/// {'holder': ['p1'], 'number': []}})` raises under FTM3 and FTM4.
#[tokio::test]
async fn a_passport_without_passport_number_and_the_required_properties() {
    let passport = Entity::new("Passport")
        .with_id("pp1")
        .add("holder", "p1")
        .add("number", "X1");
    let (v3, v4) = (Aleph.model().await, OpenAleph.model().await);

    // A bulk load stores it on both servers (neither `_bulk` checks `required`).
    assert_eq!(
        Aleph.load(vec![passport.clone()]).await,
        Ok(vec!["pp1".to_owned()])
    );
    assert_eq!(
        OpenAleph.load(vec![passport.clone()]).await,
        Ok(vec!["pp1".to_owned()])
    );
    // One entity at a time with `?validate=true`, Aleph 4.1.6 refuses it, OpenAleph does not.
    let required = |property: &str| Problem::Required {
        property: property.to_owned(),
    };
    assert_eq!(v3.check_strict(&passport), vec![required("passportNumber")]);
    assert_eq!(v4.check_strict(&passport), vec![]);
    // Under 4.x an absent required property is still one, when it is one of the model's.
    let holder_only = Entity::new("Passport").with_id("pp2").add("holder", "p1");
    assert_eq!(v4.check(&holder_only), vec![]);
    assert_eq!(v4.check_strict(&holder_only), vec![required("number")]);

    // Given with no value: refused under both models, and by bulk loads into both.
    let mut empty = passport.clone();
    empty
        .properties
        .insert("number".into(), Vec::<PropertyValue>::new());
    assert_eq!(v3.check(&empty), vec![required("number")]);
    assert_eq!(v4.check(&empty), vec![required("number")]);
    for flavor in [Aleph, OpenAleph] {
        let refused = flavor.load(vec![empty.clone()]).await.unwrap_err();
        assert_eq!(
            refused,
            vec!["required property \"number\" has no value".to_owned()],
            "{flavor:?}"
        );
    }
}

/// A model from a later followthemoney, with a type the client has never heard of and lengths
/// written otherwise, is still read whole; values of the unknown type are measured as strings.
#[tokio::test]
async fn a_model_with_a_type_the_client_does_not_know_is_read_and_measured_as_strings() {
    let mut dump = OpenAleph.dump();
    dump["version"] = json!("5.0.0");
    dump["schemata"]["Person"]["properties"]["position"]["type"] = json!("hologram");
    dump["schemata"]["Person"]["properties"]["position"]["maxLength"] = json!("long");
    dump["types"]["hologram"] = json!({"label": "Hologram", "maxLength": {"unit": "mm"}});
    let server = OpenAleph.server_with(dump).await;
    let aleph = OpenAleph.client(&server);
    let model = aleph.model().await.unwrap();
    let position = &model.schemata["Person"].properties["position"];
    assert_eq!(
        (position.type_name.as_str(), position.max_length),
        ("hologram", None)
    );
    assert_eq!(model.types["hologram"].max_length, None);

    // The type is listed without a length it can read: no check. Unlisted: a `string`.
    let person = |n: usize| {
        Entity::new("Person")
            .with_id("p1")
            .add("name", "P")
            .add("position", "x".repeat(n))
    };
    assert_eq!(model.check(&person(5000)), vec![]);
    let mut unlisted = Model::clone(&model);
    unlisted.types.remove("hologram");
    assert_eq!(unlisted.check(&person(1024)), vec![]);
    assert!(
        matches!(
            unlisted.check(&person(1025)).as_slice(),
            [Problem::TooLong { max: 1024, .. }]
        ),
        "{:?}",
        unlisted.check(&person(1025))
    );
    // And a bulk load with that model goes through.
    aleph
        .collections()
        .bulk("4", vec![person(10)])
        .await
        .unwrap();
    assert_eq!(
        bulk_ids(&requests(&server).await),
        vec![vec!["p1".to_owned()]]
    );
}

/// Values whose type checks them its own way are not measured: a `country` code (an
/// enumeration), a `date`, an entity id of 200 characters (FTM4:
/// `registry.entity.validate('a'*201)` is True; `EntityType.validate` is a pattern only).
#[tokio::test]
async fn types_with_their_own_validation_are_not_measured() {
    let v4 = OpenAleph.model().await;
    let ownership = Entity::new("Ownership")
        .with_id("o1")
        .add("owner", "a".repeat(201))
        .add("asset", "c1")
        .add("startDate", "2021-02-16T21:48:52");
    assert_eq!(v4.check(&ownership), vec![]);
    let date = ownership.clone().add("endDate", "not a date");
    assert!(
        matches!(v4.check(&date).as_slice(), [Problem::BadValue { property, .. }] if property == "endDate"),
        "{:?}",
        v4.check(&date)
    );
}
