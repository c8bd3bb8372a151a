//! The signatures and the encryption against the providers' and the RFC's published examples
//! (not against our own code): Alibaba Cloud's signature v1 example, Tencent Cloud's TC3
//! example with its full sample key, and RFC 8291's Web Push example (section 5, appendix A).

use channels::{sms, web_push};

#[test]
fn alibaba_cloud_signature_matches_the_published_example() {
    let mut query = vec![
        ("AccessKeyId", "testId"),
        ("Action", "SendSms"),
        ("Format", "XML"),
        ("OutId", "123"),
        ("PhoneNumbers", "15300000001"),
        ("RegionId", "cn-hangzhou"),
        ("SignName", "阿里云短信测试专用"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
        ("SignatureVersion", "1.0"),
        ("TemplateCode", "SMS_71390007"),
        ("TemplateParam", r#"{"customer":"test"}"#),
        ("Timestamp", "2017-07-12T02:42:19Z"),
        ("Version", "2017-05-25"),
    ];
    // Given in another order: the signature sorts them.
    query.reverse();
    assert_eq!(
        sms::aliyun_signature("GET", &mut query, "testSecret"),
        "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    );
    assert_eq!(
        sms::rfc3986("zJDF+Lrzhj/ThnlvIToysFRq6t4="),
        "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D"
    );
    assert_eq!(sms::rfc3986("a b*c~"), "a%20b%2Ac~");
}

#[test]
fn tencent_cloud_tc3_signature_matches_the_published_example() {
    let body =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    assert_eq!(
        sms::tc3_authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            body,
            1_551_113_065,
        ),
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
}

fn b64(s: &str) -> Vec<u8> {
    web_push::b64(s).unwrap()
}

#[test]
fn web_push_encryption_matches_rfc_8291_and_decrypts_back() {
    let plain = b"When I grow up, I want to be a watermelon";
    let as_secret =
        p256::SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
    let ua_public = b64(
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    );
    let ua_secret =
        p256::SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
    let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
    let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
    let body = web_push::encrypt(plain, &ua_public, &auth, &as_secret, &salt).unwrap();
    let expected = b64(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );
    assert_eq!(body, expected);
    assert_eq!(
        web_push::decrypt(&expected, &ua_secret, &auth).unwrap(),
        plain
    );
    // Another secret cannot read it.
    assert!(web_push::decrypt(&expected, &ua_secret, &b64("AAAAAAAAAAAAAAAAAAAAAA")).is_err());
}

#[test]
fn generated_vapid_keys_are_a_pair() {
    let (public, private) = web_push::generate_keys().unwrap();
    assert_eq!(b64(&public).len(), 65);
    assert_eq!(b64(&public)[0], 4, "uncompressed point");
    let config = kernel::config::WebPushConfig {
        public_key: public,
        private_key: kernel::secret::Secret::new(&private),
        subject: "mailto:ops@jy.example.cn".into(),
    };
    assert!(web_push::WebPush::new(config.clone(), reqwest::Client::new()).is_ok());
    let (other, _) = web_push::generate_keys().unwrap();
    let mismatched = kernel::config::WebPushConfig {
        public_key: other,
        ..config
    };
    assert!(web_push::WebPush::new(mismatched, reqwest::Client::new()).is_err());
}
