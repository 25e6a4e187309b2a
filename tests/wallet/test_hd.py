"""BIP-39 seeds against Trezor's vectors (passphrase "TREZOR"), BIP-32/44 derivation against
the widely published address of the "abandon ... about" mnemonic, and refusals."""
from __future__ import annotations

import pytest
from wallet.errors import WalletError
from wallet.hd import HDWallet, mnemonic_of, new_mnemonic, seed

# (entropy, mnemonic, seed with passphrase "TREZOR"): trezor/python-mnemonic vectors.json, English.
TREZOR = [
    ("00000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
     "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"),
    ("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank yellow",
     "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607"),
    ("ffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
     "0cd6e5d827bb62eb8fc1e262254223817fd068a74b5b449cc2f667c3f1f985a76379b43348d952e2265b4cd129090758b3e3c2c49103b5051aac2eaeb890a528"),
    ("8080808080808080808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid "
     "letter advice cage absurd amount doctor acoustic bless",
     "c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f"),
    ("6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
     "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
     "628c3827a8823298ee685db84f55caa34b5cc195a778e52d45f59bcf75aba68e4d7590e101dc414bc1bbd5737666fbbef35d1f1903953b66624f910feef245ac"),
    ("9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
     "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash devote "
     "level hobby quick inner drive ghost inside",
     "72be8e052fc4919d2adf28d5306b5474b0069df35b02303de8c1729c9538dbb6fc2d731d5f832193cd9fb6aeecbc469594a70e3dd50811b5067f3b88b28c3e8d"),
]
ABOUT = TREZOR[0][1]


@pytest.mark.parametrize(("entropy", "mnemonic", "expected"), TREZOR)
def test_trezor_vectors(entropy, mnemonic, expected):
    assert mnemonic_of(bytes.fromhex(entropy)) == mnemonic
    assert seed(mnemonic, "TREZOR").hex() == expected


def test_the_first_ethereum_address_of_abandon_about():
    # m/44'/60'/0'/0/0 of this mnemonic without passphrase, as MetaMask, ethers and Trezor show it.
    wallet = HDWallet(ABOUT)
    assert "0x" + wallet.address(0).hex() == "0x9858effd232b4033e47d90003d41ec34ecaeda94"
    assert wallet.private_key(0) == wallet.derive("m/44'/60'/0'/0/0")
    assert wallet.address(1) != wallet.address(0)
    assert HDWallet(ABOUT, "TREZOR").address(0) != wallet.address(0)  # the passphrase is a second factor


def test_a_fresh_mnemonic_round_trips():
    words = new_mnemonic(12)
    assert len(words.split()) == 12 and HDWallet(words).address(3) == HDWallet(words).address(3)


@pytest.mark.parametrize("mnemonic", [
    "abandon " * 11 + "abandon",  # the checksum fails
    "abandon " * 11 + "notaword",
    "",
])
def test_a_bad_mnemonic_is_refused(mnemonic):
    with pytest.raises(WalletError) as info:
        HDWallet(mnemonic)
    assert info.value.code == "bad_mnemonic"


@pytest.mark.parametrize("bad", [lambda w: w.private_key(-1), lambda w: w.private_key(2**31), lambda w: w.derive("x/1"),
                                 lambda w: new_mnemonic(13), lambda w: mnemonic_of(bytes(15))])
def test_bad_paths_and_word_counts(bad):
    with pytest.raises(WalletError) as info:
        bad(HDWallet(ABOUT))
    assert info.value.code in ("bad_derivation_path", "bad_mnemonic")
