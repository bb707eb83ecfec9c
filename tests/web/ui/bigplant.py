"""A site of thousands of assets, to hold the pages to their time budget."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from otsight.alerts.model import SEVERITIES, Alert, AlertEvidence
from otsight.inventory.model import ROLE_PURDUE, ROLES, Asset, Evidence, Service
from otsight.store import save_alerts, save_assets, save_conversations, transaction
from otsight.store.records import Conversation

T0 = 1_715_680_800.0
OT = (("modbus", 502), ("s7comm", 102), ("enip", 44818), ("dnp3", 20000), ("opcua", 4840))
IT = (("http", 80), ("dns", 53), ("ssh", 22), ("tls", 443))


def ip(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def big_asset(n: int) -> Asset:
    role = ROLES[n % len(ROLES)]
    proto, port = OT[n % len(OT)] if ROLE_PURDUE[role] in (0, 1, 2) else IT[n % len(IT)]
    return Asset(
        asset_id=f"ip:{ip(n)}",
        ips=[ip(n)],
        macs=[f"02:00:00:{n // 65536 % 256:02x}:{n // 256 % 256:02x}:{n % 256:02x}"],
        hostnames=[f"host-{n}"],
        vendor=("Siemens", "Rockwell Automation", "Schneider Electric", "Dell", "Cisco")[n % 5],
        model=f"M-{n % 97}",
        role=role,
        role_confidence=0.7,
        purdue_level=ROLE_PURDUE[role],
        first_seen=T0 + n % 3600,
        last_seen=T0 + 3600 + n % 3600,
        protocols=[proto],
        services=[Service(proto, "tcp", port, clients=3)],
        peers=3,
        packets=100 + n,
        bytes=10_000 + 97 * n,
        evidence=[Evidence("role", f"answers {proto} on {port}", f"{proto}/server", T0)],
    )


def fill_big(sessions: sessionmaker[Session], n_assets: int, n_alerts: int) -> None:
    """``n_assets`` assets, three conversations each, ``n_alerts`` alerts between them."""
    with transaction(sessions) as s:
        for start in range(0, n_assets, 2000):
            save_assets(s, [big_asset(n) for n in range(start, min(n_assets, start + 2000))])
        conversations = []
        for n in range(n_assets):
            for k in (1, 7, 31):
                peer = (n + k) % n_assets
                proto, port = OT[(n + k) % len(OT)]
                conversations.append(
                    Conversation(
                        client=ip(n),
                        server=ip(peer),
                        protocol=proto,
                        transport="tcp",
                        port=port,
                        packets=10 + k,
                        bytes=1000 * k + n,
                        first_seen=T0,
                        last_seen=T0 + 3000,
                        client_asset_id=f"ip:{ip(n)}",
                        server_asset_id=f"ip:{ip(peer)}",
                        source="big",
                    )
                )
        for start in range(0, len(conversations), 5000):
            save_conversations(s, conversations[start : start + 5000])
        save_alerts(
            s,
            [
                Alert(
                    alert_id=f"big:{n}",
                    ts=T0 + n * 3600 / n_alerts,
                    detector=("ot-commands", "port-scan", "baseline")[n % 3],
                    kind="k",
                    severity=SEVERITIES[n % len(SEVERITIES)],
                    title=f"Alert {n} about {ip(n * 7 % n_assets)}",
                    explanation="x",
                    technique_id="T0836",
                    technique="Modify Parameter",
                    src_ip=ip(n * 13 % n_assets),
                    dst_ip=ip(n * 7 % n_assets),
                    evidence=(AlertEvidence(T0, n, None, "modbus", "write"),),
                )
                for n in range(n_alerts)
            ],
        )
