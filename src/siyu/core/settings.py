"""Settings from the environment (SIYU_*), read once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///./data/siyu.db", description="OLTP database (SQLite or PostgreSQL)."
    )
    lake: str = Field("./data/lake", description="Event lake location (any fsspec path).")
    timezone: str = Field("Asia/Shanghai", description="The brand's time zone for date buckets.")
    locale: Literal["zh-CN", "en"] = Field("zh-CN", description="Default console language.")
    engine: Literal["duckdb", "pyspark"] = Field("duckdb", description="Analytics engine.")
    spark_master: str = Field(
        "local[2]", description="Spark master when engine is pyspark (local[N], spark://host:port)."
    )
    backfill_after_hours: int = Field(
        24, description="An event older than this when received is flagged as backfill."
    )
    shipper_interval_seconds: float = Field(2.0, description="How often the shipper runs.")
    shipper_batch_size: int = Field(50_000, description="Outbox rows per lake file batch.")
    compact_min_files: int = Field(8, description="Compact a date partition with this many files.")
    outbox_retention_days: int = Field(90, description="Shipped outbox rows kept this long.")
    # What one segment rule may cost: anyone who may read segments can preview a rule.
    segment_max_conditions: int = Field(
        50, ge=1, le=2000, description="Conditions in a rule, with those of the segments named."
    )
    segment_max_event_conditions: int = Field(
        10, ge=1, le=2000, description="Event and sequence conditions in a rule (likewise)."
    )
    segment_max_depth: int = Field(20, ge=1, le=100, description="How deep a rule may nest.")
    segment_preview_timeout_seconds: float = Field(
        10.0, gt=0, description="A segment preview still running after this is stopped."
    )
    callback_window_seconds: int = Field(
        300,
        ge=1,
        description="A WeCom or official-account callback signed further than this from now "
        "is refused, and so is a nonce taken before.",
    )
    # The HTTP edge: a body is counted while it is read, before sign-in or parsing.
    max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest request body (the tracking API takes 500 KB)."
    )
    import_max_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="Largest file uploaded to the imports and tags pages."
    )
    # Where customers' phones reach Siyu: QR codes, scan links and the callback addresses the
    # platforms are given. Empty: the address the console was opened at (fine on one machine).
    public_url: str = Field(
        "", description="The address customers reach, such as https://crm.brand.cn (QR codes)."
    )
    # What a scan shows when its code cannot send the phone on (no target yet, WeCom not set up).
    brand_name: str = Field("", description="The brand's name, shown to customers who scan.")
    brand_url: str = Field("", description="The brand's page (https://…), offered to a scan.")
    wechat_follow_url: str = Field(
        "", description="The official account's QR link (http://weixin.qq.com/r/…) to follow it."
    )
    secure_cookies: bool = Field(
        False, description="Mark the console's cookies Secure: set it when served over HTTPS."
    )
    # Who acted (docs/events.md): custom event names the brand or the system does, comma-separated;
    # any other unknown event is the customer's own.
    brand_events: str = Field(
        "", description="Custom events done by the brand (a message, a task), comma-separated."
    )
    system_events: str = Field("", description="Custom events done by the system, comma-separated.")
    # SMS (docs/messaging.md): the provider and its keys. A channel row's provider wins.
    sms_provider: Literal["", "aliyun", "tencent"] = Field(
        "", description="SMS provider: aliyun (Alibaba Cloud) or tencent (Tencent Cloud)."
    )
    aliyun_access_key_id: str = Field("", description="Alibaba Cloud AccessKey ID (SMS).")
    aliyun_access_key_secret: str = Field("", description="Alibaba Cloud AccessKey secret (SMS).")
    tencent_secret_id: str = Field("", description="Tencent Cloud SecretId (SMS).")
    tencent_secret_key: str = Field("", description="Tencent Cloud SecretKey (SMS).")
    tencent_sms_sdk_app_id: str = Field("", description="Tencent Cloud SMS SdkAppId (1400…).")
    tencent_sms_region: str = Field("ap-guangzhou", description="Tencent Cloud SMS region.")
    sms_endpoint: str = Field(
        "",
        description="The SMS provider's API address (empty: the provider's own; tests point "
        "it at a fake, such as http://127.0.0.1:8900).",
    )
    sms_callback_token: str = Field(
        "",
        description="The secret in the SMS receipt and reply addresses given to the provider "
        "(/sms/aliyun/report/TOKEN …); empty: those addresses answer 404.",
    )
    # WeCom (企业微信): the callback's token and EncodingAESKey, and the app that calls its API.
    wecom_token: str = Field("", description="WeCom callback Token.")
    wecom_aes_key: str = Field("", description="WeCom callback EncodingAESKey (43 characters).")
    wecom_corp_id: str = Field("", description="WeCom CorpID.")
    wecom_secret: str = Field("", description="WeCom customer-contact (客户联系) secret.")
    wecom_api_base: str = Field(
        "https://qyapi.weixin.qq.com/cgi-bin/", description="WeCom API base URL."
    )
    # The self-built app (自建应用) the guides' workbench runs in: its JS-SDK opens chats.
    wecom_agent_id: str = Field("", description="WeCom app AgentId (the guide's workbench).")
    wecom_agent_secret: str = Field("", description="WeCom app Secret (the guide's workbench).")
    # The official account (公众号).
    wechat_app_id: str = Field("", description="Official account AppID.")
    wechat_secret: str = Field("", description="Official account AppSecret.")
    wechat_token: str = Field("", description="Official account callback Token.")
    wechat_aes_key: str = Field("", description="Official account EncodingAESKey (safe mode).")
    wechat_api_base: str = Field(
        "https://api.weixin.qq.com/cgi-bin/", description="Official account API base URL."
    )
    # Reach (docs/messaging.md): email over SMTP, and the secret tracked links are signed with.
    smtp_url: str = Field(
        "",
        description="SMTP server for email: smtp://user:pass@host:587 (STARTTLS when offered) "
        "or smtps://user:pass@host:465 (implicit TLS).",
    )
    mail_from: str = Field(
        "", description="The From address of email, such as 'Brand <news@brand.cn>'."
    )
    link_secret: str = Field(
        "",
        description="Signs tracked links and unsubscribe links (empty: one is made and kept in "
        "the database).",
    )
    sending_lease_seconds: float = Field(
        300.0,
        gt=0,
        description="A delivery still 'sending' this long after it was handed over is "
        "reconciled (its outcome asked for, or sent again).",
    )
    dispatch_batch: int = Field(
        200, gt=0, le=5000, description="Deliveries per channel handed to a sender at a time."
    )
    # The customer pages (/h5/…, docs/h5.md): sign-in by WeChat web authorisation or an SMS code.
    wechat_oauth_base: str = Field(
        "https://open.weixin.qq.com/connect/",
        description="Where WeChat web authorisation (网页授权) starts (tests: a fake).",
    )
    sms_code_template: str = Field(
        "", description="The SMS provider's verification-code template (its variable: code)."
    )
    sms_sign_name: str = Field(
        "", description="The SMS sign name (签名) for codes, if the sms channel names none."
    )
    mall_url: str = Field(
        "", description="The brand's mall (https://…), where a reservation is paid for."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises on an unknown zone, naming the setting
        return value

    @field_validator("public_url")
    @classmethod
    def _base_address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (parts.query or parts.fragment or not _is_web(value)):
            raise ValueError("SIYU_PUBLIC_URL is an http(s) address such as https://crm.brand.cn")
        return value

    @field_validator("brand_url", "wechat_follow_url", "sms_endpoint", "mall_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        value = value.strip()
        if value and not _is_web(value):
            raise ValueError("an http(s) address such as https://brand.cn")
        return value

    def public_base(self, fallback: str) -> str:
        """The address QR codes and links point to: SIYU_PUBLIC_URL, else `fallback`."""
        return self.public_url or fallback.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _is_web(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and value.isprintable()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
