//! The key decisions: one holder per key and plugin, credentials following
//! their consumer, a changed config published again.

use super::*;

fn id(s: &str) -> Id {
    Id(s.to_owned())
}

/// key-auth's key `key` with a config naming it.
fn ka(key: &str) -> Option<(String, String)> {
    Some((key.to_owned(), format!(r#"{{"key":"{key}"}}"#)))
}

fn set(key: &str, owner: &str) -> Publish {
    Publish::Set {
        plugin: "key-auth",
        key: key.into(),
        owner: id(owner),
        conf: format!(r#"{{"key":"{key}"}}"#),
    }
}

fn gone(key: &str) -> Publish {
    Publish::Withdraw {
        plugin: "key-auth",
        key: key.into(),
    }
}

#[test]
fn a_consumer_key_is_served_while_the_consumer_exists() {
    let mut k = AuthKeys::default();
    assert_eq!(k.set_key("key-auth", &id("jack"), ka("k1")), vec![]);
    assert_eq!(k.set_consumer(&id("jack"), true), vec![set("k1", "jack")]);
    assert_eq!(
        k.set_key("key-auth", &id("jack"), ka("k2")),
        vec![gone("k1"), set("k2", "jack")]
    );
    assert_eq!(k.set_key("key-auth", &id("jack"), ka("k2")), vec![]);
    assert_eq!(k.set_consumer(&id("jack"), false), vec![gone("k2")]);
}

#[test]
fn credentials_follow_their_consumer() {
    let mut k = AuthKeys::default();
    let cred = "jack/credentials/c1";
    // A credential without its consumer authenticates nobody.
    assert_eq!(k.set_key("key-auth", &id(cred), ka("kc")), vec![]);
    assert_eq!(k.set_consumer(&id("jack"), true), vec![set("kc", cred)]);
    assert_eq!(k.set_consumer(&id("jack"), false), vec![gone("kc")]);
    assert_eq!(k.set_consumer(&id("jack"), true), vec![set("kc", cred)]);
    assert_eq!(k.set_key("key-auth", &id(cred), None), vec![gone("kc")]);
    assert_eq!(k.set_consumer(&id("jack"), false), vec![]);
}

#[test]
fn a_key_held_twice_is_served_for_neither_until_one_lets_go() {
    let mut k = AuthKeys::default();
    k.set_consumer(&id("jack"), true);
    k.set_consumer(&id("anna"), true);
    assert_eq!(
        k.set_key("key-auth", &id("jack"), ka("same")),
        vec![set("same", "jack")]
    );
    assert_eq!(
        k.set_key("key-auth", &id("anna"), ka("same")),
        vec![gone("same")]
    );
    // A third claim changes nothing: still refused.
    let third = id("anna/credentials/c");
    assert_eq!(k.set_key("key-auth", &third, ka("same")), vec![]);
    assert_eq!(k.set_key("key-auth", &third, None), vec![]);
    assert_eq!(
        k.set_key("key-auth", &id("jack"), None),
        vec![set("same", "anna")]
    );
    assert_eq!(k.clear(), vec![gone("same")]);
}

#[test]
fn a_claim_by_a_credential_without_consumer_does_not_collide() {
    let mut k = AuthKeys::default();
    k.set_consumer(&id("jack"), true);
    assert_eq!(
        k.set_key("key-auth", &id("jack"), ka("k")),
        vec![set("k", "jack")]
    );
    let ghost = id("ghost/credentials/c");
    assert_eq!(k.set_key("key-auth", &ghost, ka("k")), vec![]);
    assert_eq!(k.set_consumer(&id("ghost"), true), vec![gone("k")]);
    assert_eq!(k.set_consumer(&id("ghost"), false), vec![set("k", "jack")]);
}

#[test]
fn plugins_keep_their_keys_apart_and_a_changed_config_is_published_again() {
    let mut k = AuthKeys::default();
    k.set_consumer(&id("jack"), true);
    k.set_consumer(&id("anna"), true);
    let basic = |user: &str, pass: &str| {
        Some((
            user.to_owned(),
            format!(r#"{{"password":"{pass}","username":"{user}"}}"#),
        ))
    };
    let basic_set = |user: &str, owner: &str, pass: &str| Publish::Set {
        plugin: "basic-auth",
        key: user.into(),
        owner: id(owner),
        conf: format!(r#"{{"password":"{pass}","username":"{user}"}}"#),
    };
    // The same text as a key-auth key and a basic-auth username: no clash.
    assert_eq!(
        k.set_key("key-auth", &id("jack"), ka("same")),
        vec![set("same", "jack")]
    );
    assert_eq!(
        k.set_key("basic-auth", &id("anna"), basic("same", "p1")),
        vec![basic_set("same", "anna", "p1")]
    );
    // A new password under the same username is served at once.
    assert_eq!(
        k.set_key("basic-auth", &id("anna"), basic("same", "p2")),
        vec![basic_set("same", "anna", "p2")]
    );
    // Deleting anna withdraws her basic-auth username only.
    assert_eq!(
        k.set_consumer(&id("anna"), false),
        vec![Publish::Withdraw {
            plugin: "basic-auth",
            key: "same".into()
        }]
    );
}
