import pytest

from server.config import Config, ConfigError


def test_defaults_match_the_design_contract():
    config = Config.from_env({})
    assert config.database_url == "sqlite+aiosqlite:///./var/sidang.db"
    assert config.redis_url is None
    assert str(config.media_dir) == "recordings"
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.ice_servers == []
    assert config.trusted_proxies == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIDANG_DATABASE_URL", "not a url"),
        ("SIDANG_DATABASE_URL", "mysql://root@localhost/x"),
        ("SIDANG_REDIS_URL", "http://localhost:6379"),
        ("SIDANG_PORT", "eighty"),
        ("SIDANG_PORT", "70000"),
        ("SIDANG_ICE_SERVERS", "[{"),
        ("SIDANG_ICE_SERVERS", '["stun:x"]'),
        ("SIDANG_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip"),
        ("SIDANG_PUBLIC_URL", "ftp://x"),
        ("SIDANG_SMS_URL", "smsgw.example.id/kirim"),
    ],
)
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_trusted_proxies_parse_ips_and_cidrs():
    config = Config.from_env({"SIDANG_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert [str(n) for n in config.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8"]


def test_secret_key_is_generated_once_and_kept(tmp_path):
    config = Config(data_dir=tmp_path)
    first = config.with_secret().secret_key
    assert len(first) > 40
    assert config.with_secret().secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secure_cookies_follow_the_public_url():
    assert Config.from_env({"SIDANG_PUBLIC_URL": "https://dprd.example.id"}).secure_cookies
    assert not Config.from_env({}).secure_cookies


def test_sms_goes_to_a_gateway_the_log_or_nowhere():
    gateway = Config.from_env({"SIDANG_SMS_URL": "https://sms.example.id/kirim"})
    assert gateway.sms_url == "https://sms.example.id/kirim"
    assert gateway.with_log_outboxes().sms_url == gateway.sms_url, "demo keeps a gateway"
    assert Config.from_env({}).sms_url is None
    assert Config.from_env({}).with_log_outboxes().sms_url == "log:"


def test_mail_goes_to_a_server_the_log_or_nowhere():
    server = Config.from_env({"SIDANG_SMTP_URL": "smtp://mail.example.id:587?starttls=1"})
    assert server.with_log_outboxes().smtp_url == server.smtp_url, "demo keeps a mail server"
    assert Config.from_env({}).smtp_url is None
    assert Config.from_env({}).with_log_outboxes().smtp_url == "log:"
    assert Config.from_env({"SIDANG_SMTP_URL": "log:"}).smtp_url == "log:"
    with pytest.raises(ConfigError, match="SIDANG_SMTP_URL"):
        Config.from_env({"SIDANG_SMTP_URL": "mail.example.id"})
