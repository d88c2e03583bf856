"""Tests for the SRP-6a math of the sandbox (grader.sandbox.srp)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from grader.sandbox import srp

POOL_ID = "us-east-1_VEUHc88gP"
SECRET_BLOCK = base64.b64encode(bytes(range(64))).decode()
STAMP = "Tue Nov 3 06:13:42 UTC 2026"

# Vectors published in AWS's Amplify Swift SRP client tests (SRPClientTests.swift): the
# "username" there is poolName + user id ("VEUHc88gP" + "royji7").
SWIFT_A_PRIVATE = "98fba2902c23b5e55de97ae4e9497f0b7dfbb639f1539243029ddabd0ed10c8"
SWIFT_A = (
    "c4808c3cee673f869923c08c3f42aa4b2a98197f2187ce9af9736a27c1689bf7f423cc5a20973ed1b4db7daead"
    "68a54467308dd80701adb31756f43286cb88b1d441115e4eddcaa1730ecb3164068db45d0960b81a652798cf01"
    "8369c5a3f581036cee2b36b4e63839b4d9b313a21b54e658dbc2c7aa1b0bb0c73be9d9dcb713462e6630fc748e"
    "4d4899b4e1db4b579d1a24f9fd7ecdd43ded934a5bde8e90bc488a8f49d6b849f95cac284e17589285d6bbcd1c"
    "86d57ccfbbb991dc3cd2b66f56d197fdacb9cc2da9f79b582bf2e632266f73cfe2f6ae9373e1438a48aaf7fec6"
    "be9bf4f87415c7a500ddf8181c075f2284ab2c2810b03eb211696d2d47584c6e9d2810ec17466ea5a2adfc9919"
    "3746942b5abb48d3957de4ab3249d17af696b18b36d05f6051ba41dd732e23f05c378625459f0971cffe702bad"
    "d6dd4d40e06e012636fb29784f7541caaa6c8c09b9465f7d364850228661c1573c446ef5fb859f2ee8eb6cc364"
    "2de42b47d777b1148c4dede62819458df94a83e526c0cd9f"
)
SWIFT_B = (
    "cccd551910a5a4a05af370b8f7340bd4a4cbf2daed273fcfc3c4ec112f1424f064635e9ad8337af7a737221279"
    "3c057f24570ea2c2e87f1b47a9153dfdeb470772f2985dc3e7ffca700a3b826ad4fe559f3d3cbdd5e33d02a400"
    "8cd6cd1104df09236647c59ea3645beebaffefe34ea5915cdb974e905ac06e7daf4932327f1bd7c9d8e0778c97"
    "1996497cecd8b17a4e49636024ef1b6c6ba293d06d5cb49684aa8a6c03a51d6e9eb6c612e886ad2b553e759180"
    "43150f73114f7e455f7559560f7b67f21340c5c3dff8b1af71fe3bfa73bd0a7443d197c19ab7927d25ad360589"
    "da9ab2e20e7fc2278eda238323ac7f1d2bd7dc909c1f96560eff8214ae0026f67891fe97ccd49702263ee9ef93"
    "888c5797beab21bdeeba688668f1d6002809afbd726506e7aa527ad867235aaf34131b2ba2b09e12733ad3fcd0"
    "0ea945c0ca546911d0bf23234852ae507800aa81e2722d0494ae5ac735e7ed5c0288fd749835b9a58dd7c340a8"
    "24191a9f177f12ef824102c3582b92bb608ab090ca34e246"
)
SWIFT_S = (
    "eaf55a5aab2cacc78e84aea5bf6e01c4d63fc3bc7fb19c3360144e79dcc0b2fb1f1b55203d430d396027e64cd5"
    "ad4561f7bc4c5395f43ce3863055c522ab252cc5ec488e0f2321dcb675d410d19c042a8a3dcb517609dc2ebb3d"
    "b42a70a91849bd0cd7ca36a2aded7bf137643e0f02da31b9b32804bb41e5a877cd72a45a2211c90c71deea91d0"
    "04baf7258e179afd9299d91279c7a268473cfb3255d4750be7ba1da07366c8329a15770345243132416c908a89"
    "739fd2d3e980ff0a697d628b49966a9683575aef37b5d3f33cc0258fb2c492123c0c01cd703680cbceff1f2c11"
    "7711da53ce9322a74a1ab5355f51e358347adfed8c40d413059a07ba1a1f53c8f341560de8f94bff0cf027cc5a"
    "6ab556c9d3e60ac2efebc5716454ca80e9c50d6ef2561ac23148179e37b7490baba57ff7bd65ddababaa335454"
    "a4eb4738c42bf5166b7e99acdef377e584e00dcc01cd2e631b77fea29e48efb0f22409e35ab625f4b9bed94fe9"
    "af5d9fb4cd1e16a6c4c8f3edf54d1f2b24e4afcd40d69888"
)


def test_k_matches_the_published_cognito_value() -> None:
    """k = H(pad(N) | pad(g)) equals the constant every Cognito SDK ships."""
    assert format(srp.K, "x") == "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
    assert srp.N.bit_length() == 3072
    assert pow(2, srp.N - 1, srp.N) == 1


def test_pad_hex_follows_the_sdk_convention() -> None:
    """pad_hex gives even length and a leading 00 when the top bit is set."""
    assert srp.pad_hex(0x14) == "14"
    assert srp.pad_hex(0xC8) == "00c8"
    assert srp.pad_hex(0xABC) == "0abc"
    assert srp.pad_hex(srp.N).startswith("00ff")


def test_u_matches_the_amplify_swift_vector() -> None:
    """compute_u reproduces a published u for given A and B."""
    big_a = int(
        "27042f8575322fee79d27caaec003ab3dd7bf6b7c40c3438ebac8c75329d2fdcf8f344c33dce23fcb7d265b681"
        "600eeef19a83be4bed41e368f25a3913a71203c1744f66cd2a7b5e4c06a0c062c5fce4b07b1a73fc7adcf6233d"
        "b976d1ce417ff4eb9153df873970326a9c18e36c2ae8490149d98422ce57a001853279761260316321f4b4e90d"
        "6fd9e4ff55b3cea2a55be9446f13736aad842e9af0763e83f4208320a326fb592eac84f3c65ac46573c41443f4"
        "c4673189e6b4afe8b84a43327de73577145927bc2408390ab63724a17b150225cbb1620f5607c8676641ee49f6"
        "c06071a5a009be48b7449efabfdfa9b26edea8f731b579aa803d1333dd1472dd1ae59fea12d0a5200925be3197"
        "9ac37911f67aed2f9ba4b1a326488e1a03b1e10f2287f06df83b04c955a4776dffb49dd4cc17f9a20f0f14ec22"
        "342c2d97795a24e5e86810d21430713fd6c9612a59e864ba251fca59e36555c4abb28cf6b1049544dcea3cfe3d"
        "024ed57b81a3366e0e9daee4616e7b277412032ec6b50e57",
        16,
    )
    big_b = int(
        "b5619b2e02a66d7681acc7ab0d4baa69921d8b8e2e1b67828c5d88d403c93b176879a0f9c93127109f2b721202"
        "31238a3b56adefb53e8e454679f5d3e4874926a7b1cd9515999f57867e265b30a918628bba40ccffc7ef29f71e"
        "92e60c1acb3f48e7240ad621add7fb8c80646309d2fc980976b2f41219d877d1264a13f52cb7233ab06e4c056b"
        "cd0af7a4a3f5e4e887e90da816c1e599fcc8b62d9ee2fd5f9c011f14119af03e1b39ffbfc5442614746f1b9a8f"
        "3650244ae7711b9e0b5adb499711c81ad65d5e50f554e4add08e499f387f517d8269cc80302f935cb6c4029782"
        "bd65ef55b315fbec657288b2dab1699cf32ef8c09b822e650ffe9f7ecac5eed47bc6e63a9f9f46bd9bb3eabc7c"
        "758ca944aedb7a5a4a204fc4f5a67093a7f4ea444417b85e71bf7363b98a982d4f5bb77e4a6ac66f1505466377"
        "5bc567445b62685f1d4e9bf20ac14bf00453c5b666e88e1c72a6539bfda079e4de05b324629b160935d15cdb18"
        "d1f8dfe55f2d84afaef0f761bec33eba2178b426a7bf2985",
        16,
    )
    assert format(srp.compute_u(big_a, big_b), "x") == (
        "c3a1193f8683863acc9c1d9532105c589696e3347b860080853435906b61342a"
    )


def test_client_shared_secret_matches_the_amplify_swift_vector() -> None:
    """The client's S = (B - k*g^x)^(a + u*x) mod N reproduces a published value."""
    a = int(SWIFT_A_PRIVATE, 16)
    client = srp.SrpClient(POOL_ID, small_a=a)
    assert client.srp_a_hex == SWIFT_A
    big_b = int(SWIFT_B, 16)
    x = srp.compute_x(POOL_ID, "royji7", "dummy123@", int("8bb7dcf905f418bf27b6623aa4d2f58f", 16))
    u = srp.compute_u(client.big_a, big_b)
    shared = pow(big_b - srp.K * pow(srp.G, x, srp.N), a + u * x, srp.N)
    assert format(shared, "x") == SWIFT_S
    expected_key = srp.derive_key(shared, u)
    assert client.session_key("royji7", "dummy123@", "8bb7dcf905f418bf27b6623aa4d2f58f", SWIFT_B) == expected_key


def test_derive_key_is_rfc5869_hkdf() -> None:
    """derive_key equals an independent HKDF-SHA256 (cryptography) with Cognito's info string."""
    shared, u = int(SWIFT_S, 16), 0xC3A1193F8683863ACC9C1D9532105C589696E3347B860080853435906B61342A
    reference = HKDF(
        algorithm=hashes.SHA256(),
        length=16,
        salt=bytes.fromhex(srp.pad_hex(u)),
        info=b"Caldera Derived Key",
    ).derive(bytes.fromhex(srp.pad_hex(shared)))
    assert srp.derive_key(shared, u) == reference


def test_client_and_server_agree() -> None:
    """A client that knows the password produces the claim the server expects."""
    client = srp.SrpClient(POOL_ID)
    server = srp.start_server_challenge(POOL_ID, "janedoe", "Ilove2SeeTheTemple!!", client.srp_a_hex)
    claim = client.password_claim(
        "janedoe", "Ilove2SeeTheTemple!!", server.salt_hex, server.srp_b_hex, SECRET_BLOCK, STAMP
    )
    assert server.verify_claim(SECRET_BLOCK, STAMP, claim)
    assert (
        client.session_key("janedoe", "Ilove2SeeTheTemple!!", server.salt_hex, server.srp_b_hex) == server.session_key()
    )


@pytest.mark.parametrize(
    ("user", "password", "block", "stamp"),
    [
        ("janedoe", "wrong-password", SECRET_BLOCK, STAMP),
        ("johndoe", "Ilove2SeeTheTemple!!", SECRET_BLOCK, STAMP),
        ("janedoe", "Ilove2SeeTheTemple!!", base64.b64encode(b"other").decode(), STAMP),
        ("janedoe", "Ilove2SeeTheTemple!!", SECRET_BLOCK, "Tue Nov 3 06:13:43 UTC 2026"),
    ],
)
def test_server_rejects_any_wrong_ingredient(user: str, password: str, block: str, stamp: str) -> None:
    """A wrong password, user id, secret block or timestamp fails verification."""
    client = srp.SrpClient(POOL_ID)
    server = srp.start_server_challenge(POOL_ID, "janedoe", "Ilove2SeeTheTemple!!", client.srp_a_hex)
    claim = client.password_claim(user, password, server.salt_hex, server.srp_b_hex, block, stamp)
    assert not server.verify_claim(SECRET_BLOCK, STAMP, claim)


def test_salt_with_high_bit_and_leading_zero_digits_round_trips() -> None:
    """Salts whose hex starts with 8-f or with zero digits are padded the same on both sides."""
    for salt in (0x80 << 120, 0x0F << 112, 1):
        client = srp.SrpClient(POOL_ID)
        server = srp.start_server_challenge(POOL_ID, "u", "p", client.srp_a_hex, salt=salt)
        claim = client.password_claim("u", "p", server.salt_hex, server.srp_b_hex, SECRET_BLOCK, STAMP)
        assert server.verify_claim(SECRET_BLOCK, STAMP, claim)


def test_server_refuses_a_zero_a() -> None:
    """SRP_A that is 0 mod N (a classic bypass) or not hex is refused."""
    for bad in ("0", srp.N_HEX, format(2 * srp.N, "x"), "not-hex"):
        with pytest.raises(srp.SrpError):
            srp.start_server_challenge(POOL_ID, "u", "p", bad)


def test_fixed_inputs_give_a_stable_claim() -> None:
    """With a, b, salt and timestamp fixed, the claim is deterministic (regression pin)."""
    client = srp.SrpClient(POOL_ID, small_a=int(SWIFT_A_PRIVATE, 16))
    server = srp.start_server_challenge(
        POOL_ID, "royji7", "dummy123@", client.srp_a_hex, salt=0x8BB7DCF905F418BF27B6623AA4D2F58F, small_b=12345
    )
    claim = client.password_claim("royji7", "dummy123@", server.salt_hex, server.srp_b_hex, SECRET_BLOCK, STAMP)
    assert claim == server.expected_signature(SECRET_BLOCK, STAMP)
    assert claim == client.password_claim("royji7", "dummy123@", server.salt_hex, server.srp_b_hex, SECRET_BLOCK, STAMP)
    assert len(base64.b64decode(claim)) == 32


def test_timestamp_format_has_an_unpadded_day() -> None:
    """TIMESTAMP looks like 'Tue Nov 3 06:13:42 UTC 2026', in UTC, English names."""
    moment = datetime(2026, 11, 3, 6, 13, 42, tzinfo=UTC)
    assert srp.format_timestamp(moment) == STAMP
    assert srp.format_timestamp(datetime(2026, 11, 26, 6, 13, 42, tzinfo=UTC)) == ("Thu Nov 26 06:13:42 UTC 2026")


def test_challenge_responses_mirror_the_browser_sdk() -> None:
    """challenge_responses sends USER_ID_FOR_SRP back as USERNAME with the claim fields."""
    client = srp.SrpClient(POOL_ID)
    server = srp.start_server_challenge(POOL_ID, "janedoe", "pw", client.srp_a_hex)
    params = {
        "SALT": server.salt_hex,
        "SRP_B": server.srp_b_hex,
        "SECRET_BLOCK": SECRET_BLOCK,
        "USER_ID_FOR_SRP": "janedoe",
        "USERNAME": "janedoe",
    }
    answers = client.challenge_responses(params, "pw", timestamp=STAMP)
    assert answers["USERNAME"] == "janedoe"
    assert answers["TIMESTAMP"] == STAMP
    assert answers["PASSWORD_CLAIM_SECRET_BLOCK"] == SECRET_BLOCK
    assert server.verify_claim(SECRET_BLOCK, STAMP, answers["PASSWORD_CLAIM_SIGNATURE"])


def test_secret_hash_and_pool_name() -> None:
    """secret_hash is base64 HMAC(secret, user+client); pool_name_of drops the region."""
    assert srp.pool_name_of("us-east-1_AbC") == "AbC"
    assert (
        srp.secret_hash("client", "secret", "jane") == "MRPITOHaaXF3U2mXQ8u/9mU3u+IhlYGP0cF9VpZjE5M="
    )  # openssl dgst -hmac
