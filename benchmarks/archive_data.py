"""The made-up archive of benchmarks/archive_scale.py: five years of migration news.

Nothing here touches a database (the one file read is migration 0006, for the tracker's
terms and the full-text statements). `make_plan` decides, with numpy's seeded generator, every
item's day, time, outlet, labels, topics and story, the editions and their entries, and the
feeds' fetch record; `iter_chunks` then writes the items' words, chunk by chunk (each chunk
from its own seed, so a chunk's text does not depend on the chunks before it). The same seed
and item count give the same archive, byte for byte, on SQLite and on PostgreSQL.

The words: every title, summary and text is a sequence of tokens (a word or a short phrase)
drawn position by position from one of several vocabularies: general news English (function
words, news words, sentence ends), words common to all migration news, the item's topics'
own vocabularies, a European or international one for items about abroad, and, for irrelevant
items, other news (weather, sport, bird migration...). Then names and the language tracker's
phrases are written over random positions, each at a rate that depends on the item's topics,
its outlet's segment and the date (a Home Secretary only while in office, "invasion" mostly in
right-leaning outlets and around the autumn of 2022, "people seeking asylum" becoming more
common), so broad words land in tens of percent of items and names in well under one percent.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

LONDON = ZoneInfo("Europe/London")
START, END = date(2021, 11, 21), date(2026, 11, 20)  # five years, both ends included
DAYS = (END - START).days + 1
RECENT_DAYS = 90  # the pruning horizon: irrelevant items older than this are mostly gone
CUTOFF = time(6, 30)  # an edition covers the previous edition's 06:30 to its own (London)
SEND_AT = time(8, 0)
CHUNK = 10_000  # items per text chunk (and per database transaction)
MIGRATION_0006 = (
    Path(__file__).resolve().parent.parent / "alembic/versions/0006_archive_search_and_trends.py"
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def load_migration_0006() -> Any:
    """The migration module, for its trigger statements and the tracker's default terms."""
    spec = importlib.util.spec_from_file_location("migration_0006", MIGRATION_0006)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- vocabularies ---------------------------------------------------------------------------
# Tokens are separated by "|"; within a vocabulary the first are the most frequent (Zipf).

FUNCTION_WORDS = (
    "the|of|to|and|a|in|that|for|on|is|was|with|he|it|as|by|at|from|his|be|have|has|are|an|"
    "but|not|they|this|who|their|had|were|been|after|will|would|which|one|more|about|also|its|"
    "up|out|or|there|when|over|into|than|other|could|some|what|we|she|her|them|if|can|all|"
    "no|so|just|before|while|because|between|since|under|through|during|against|still|"
    "most|many|those|these|where|how|any|such|only|then|very|both|each|much|did|do|our"
)
NEWS_WORDS = (
    "said|people|new|year|two|government|last|first|time|years|week|police|told|says|"
    "council|public|local|national|report|three|according|plans|support|number|called|"
    "including|services|made|part|month|spokesperson|former|added|statement|told|country|"
    "family|group|work|help|areas|days|news|court|case|later|figures|data|million|area|"
    "recent|several|officials|department|working|decision|week's|latest|system|community|"
    "city|members|review|issue|change|months|staff|earlier|response|funding|order|plan|"
    "future|chief|leader|party|election|secretary|committee|evidence|claims|costs|concerns|"
    "increase|warned|described|believed|continue|announced|confirmed|expected|reported|"
    "meeting|hearing|judge|legal|law|rights|office|health|housing|schools|hospital|town|"
    "county|street|building|centre|site|residents|officers|workers|director|charity|"
    "campaign|campaigners|organisation|company|contract|budget|tax|economy|business|"
    "pressure|crisis|risk|safety|security|investigation|inquiry|official|minister|ministers|"
    "parliament|debate|vote|bill|policy|rules|scheme|agency|groups|volunteers|food|money|"
    "weeks|hours|night|morning|weekend|north|south|east|west|London|England|Scotland|Wales|"
    "Ireland|Europe|world|international|region|coast|sea|water|road|journey|arrived|left|"
    "returned|moved|lived|living|died|death|deaths|injured|rescued|found|missing|arrested|"
    "charged|sentenced|jailed|accused|denied|refused|approved|rejected|agreed|launched|"
    "published|released|shows|show|showed|suggests|suggested|estimated|average|total|rise|"
    "fall|fell|rose|record|highest|lowest|percent|per|cent|thousands|hundreds|dozens|"
    "children|women|men|young|old|older|mother|father|son|daughter|home|homes|house|"
    "life|lives|stories|story|photo|video|interview|speech|letter|sources|critics|experts|"
    "analysis|research|study|survey|university|professor|lawyer|solicitor|barrister|"
    "tribunal|appeal|ruling|challenge|unlawful|lawful|judicial|hearing's|guidance|powers"
)
SENTENCE_ENDS = (
    "said.|week.|year.|yesterday.|today.|on Monday.|on Tuesday.|on Wednesday.|on Thursday.|"
    "on Friday.|in a statement.|he added.|she said.|officials said.|last month.|this year.|"
    "the report found.|it said.|they said.|at the time.|in recent months.|the spokesperson said."
)
# Words every migration story may use, whatever its topic.
COMMON = (
    "migrants|Home Office|immigration|border|Britain|the UK|Home Secretary|the government|"
    "ministers|migration|charities|campaigners|arrivals|officials|immigration rules|lawyers|"
    "the department|legislation|Border Force|migrant|claims|Downing Street|the opposition|"
    "asylum|immigration system|British|nationals|asylum seekers|country of origin|"
    "Refugee Council|persecution|refugees|human rights|Prime Minister|Whitehall|asylum claims|"
    "the Treasury|refugee|public spending|net figures"
)
TOPIC_WORDS = {
    "channel-crossings": (
        "small boats|Channel|crossings|small boat|Calais|Dover|dinghy|the French coast|"
        "crossed the Channel|Dunkirk|smugglers|beaches|coastguard|Border Force vessel|"
        "people smuggling|RNLI|lifeboat|small boat arrivals|Kent|Gravelines|Boulogne|"
        "Wimereux|French police|interceptions|taxi boats|overcrowded|drowned|the crossing|"
        "Channel crossings|English Channel|sea conditions|good weather|migrant boat|"
        "smuggling gangs|life jackets|Western Jet Foil|Stop the Boats|UK-France deal"
    ),
    "asylum-system": (
        "asylum|hotels|asylum hotel|asylum claims|backlog|accommodation|asylum system|"
        "asylum support|caseworkers|grant rate|decisions|appeals|barracks|barge|"
        "contractors|Serco|Mears|Clearsprings|right to work|inadmissibility|legacy backlog|"
        "dispersal|large sites|asylum accommodation|hotel use|initial decisions|"
        "refusal rate|claims pending|Portland|RAF Scampton|interviews|processing"
    ),
    "removals-offshoring": (
        "deportation|removal flights|deported|removals|returns|returns agreement|"
        "third country|offshore processing|charter flight|foreign national offenders|"
        "Albania|return hubs|European Court of Human Rights|Strasbourg|injunction|"
        "Supreme Court|deportation flight|enforced returns|voluntary returns|"
        "removal notice|judicial review|safe third country|the scheme|Kigali|"
        "Court of Appeal|returns deal|deportations"
    ),
    "detention": (
        "detention|detention centre|immigration removal centre|detainees|detained|"
        "Harmondsworth|Brook House|Yarl's Wood|Colnbrook|Dungavel|Derwentside|"
        "immigration bail|electronic tagging|self-harm|inspection|chief inspector|"
        "Independent Monitoring Board|short-term holding facility|Tinsley House|"
        "immigration detention|Gatwick|Medical Justice|Bail for Immigration Detainees|"
        "indefinite detention|segregation|hunger strike|custody"
    ),
    "eu-citizens-euss": (
        "settled status|pre-settled status|EU Settlement Scheme|EUSS|EU citizens|eVisa|"
        "digital status|Withdrawal Agreement|citizens' rights|Independent Monitoring Authority|"
        "the3million|late applications|Brexit|share code|EU nationals|European citizens|"
        "status checks|physical documents|landlords|employers|Polish|Romanian"
    ),
    "destitution": (
        "destitution|no recourse to public funds|NRPF|homelessness|move-on period|"
        "food bank|hardship|rough sleeping|councils|asylum support rates|poverty|evictions|"
        "destitute|homeless|night shelter|cost of living|benefits|Universal Credit|"
        "local authorities|British Red Cross|emergency accommodation|hunger"
    ),
    "legal-migration": (
        "net migration|visas|skilled worker visa|care workers|health and care visa|"
        "graduate route|international students|dependants|salary threshold|"
        "Office for National Statistics|ONS|Migration Advisory Committee|"
        "immigration health surcharge|family visa|indefinite leave to remain|"
        "points-based system|white paper|sponsor licence|visa fees|work visas|"
        "student visas|recruitment|universities|NHS staff|settlement|earned settlement|"
        "skills shortages|employers"
    ),
    "safe-routes-resettlement": (
        "resettlement|safe and legal routes|Ukrainian refugees|Afghan relocation|ARAP|"
        "family reunion|humanitarian visa|Refugee Convention|UNHCR|Hong Kong|BN(O) visa|"
        "resettlement scheme|Afghan citizens|sponsors|host families|Ukraine|Afghanistan|"
        "safe routes|refugee family reunion|humanitarian protection"
    ),
    "citizenship-rights": (
        "Windrush|citizenship|hostile environment|right to rent|compensation scheme|"
        "deprivation of citizenship|NHS charging|Windrush generation|lessons learned review|"
        "citizenship fees|registration|Windrush Day|Caribbean|status checks|data sharing|"
        "Windrush scandal|compensation claims|stripped of citizenship"
    ),
    "community-tensions": (
        "protest|protesters|riots|far-right|hate crime|disorder|counter-protest|police|"
        "misinformation|violence|arrests|Knowsley|Rotherham|Tamworth|unrest|"
        "anti-migrant|demonstration|Stand Up to Racism|flags|social media|rioters|"
        "community leaders|tensions"
    ),
    "exploitation-trafficking": (
        "modern slavery|trafficking|exploitation|National Referral Mechanism|victims|"
        "labour exploitation|care sector|seasonal workers|gangmasters|GLAA|forced labour|"
        "trafficked|debt bondage|slavery|county lines|sponsorship|exploited|survivors"
    ),
    "children-families": (
        "children|unaccompanied children|age assessments|minors|families|child refugees|"
        "missing children|family separation|Kent County Council|foster care|"
        "National Transfer Scheme|unaccompanied|young people|teenagers|schools|"
        "children's services|age disputes|safeguarding|babies"
    ),
    "integration-welcome": (
        "welcome|sanctuary|Refugee Week|volunteers|integration|community|City of Sanctuary|"
        "contribution|football club|restaurant|choir|NHS doctor|English lessons|"
        "new life|business|friendship|celebration|award|festival|cafe|mentors"
    ),
    "politics-public-opinion": (
        "poll|polling|MPs|Parliament|Prime Minister|Reform UK|Labour|Conservatives|Tories|"
        "ECHR|vote|YouGov|Ipsos|Commons|Lords|manifesto|Nigel Farage|Keir Starmer|"
        "Rishi Sunak|election|voters|campaign|Liberal Democrats|Kemi Badenoch|"
        "leaving the ECHR|by-election|shadow home secretary|public opinion|focus groups"
    ),
}
ABROAD_WORDS = {
    "europe": (
        "EU|Brussels|European Commission|Mediterranean|Lampedusa|Italy|Greece|Frontex|"
        "Spain|Germany|France|migration pact|EU member states|Canary Islands|Poland|"
        "Belgium|Netherlands|Sweden|Meloni|Libya|Tunisia|Lesbos|Balkans|Schengen"
    ),
    "international": (
        "United States|US border|Mexico|Sudan|Afghanistan|UNHCR|Rohingya|Bangladesh|"
        "Syria|Gaza|Congo|Australia|Trump|Biden|displaced|displacement|camps|Ethiopia|"
        "Eritrea|Venezuela|Pakistan|Iran|humanitarian"
    ),
}
OTHER_NEWS = (
    "football|match|weather|storm|rain|inflation|interest rates|energy bills|strike|"
    "NHS|train|transfer window|Premier League|housing market|prices|school|teachers|"
    "festival|concert|film|traffic|roadworks|crime|fire|court|shops|retail|council tax|"
    "bird migration|migratory birds|school detention|Channel swim|data migration|"
    "Russian invasion|cloud migration|ferry timetable|invasive species|refugee camp drama"
)

# Names and laws: (phrase, rate per item by topic while current, first day, last day,
# factor for items outside those dates). An item gets the phrase at most once.
ENTITIES: tuple[tuple[str, dict[str, float], str, str, float], ...] = (
    (
        "Rwanda",
        {
            "removals-offshoring": 0.35,
            "politics-public-opinion": 0.08,
            "channel-crossings": 0.04,
            "asylum-system": 0.03,
        },
        "2022-04-14",
        "2024-07-06",
        0.08,
    ),
    (
        "Manston",
        {"detention": 0.15, "asylum-system": 0.06, "channel-crossings": 0.05},
        "2022-10-20",
        "2023-01-31",
        0.02,
    ),
    (
        "Bibby Stockholm",
        {"asylum-system": 0.05, "community-tensions": 0.02},
        "2023-04-05",
        "2025-01-31",
        0.03,
    ),
    ("Napier Barracks", {"asylum-system": 0.02}, "2021-11-21", "2025-03-31", 0.1),
    ("Wethersfield", {"asylum-system": 0.02}, "2023-07-01", "2026-11-20", 0.0),
    (
        "Illegal Migration Act",
        {
            "removals-offshoring": 0.08,
            "detention": 0.05,
            "channel-crossings": 0.03,
            "politics-public-opinion": 0.04,
        },
        "2023-03-07",
        "2024-12-31",
        0.05,
    ),
    ("Safety of Rwanda Act", {"removals-offshoring": 0.06}, "2023-12-06", "2024-07-06", 0.02),
    (
        "Nationality and Borders Act",
        {"asylum-system": 0.03, "removals-offshoring": 0.03},
        "2021-11-21",
        "2023-03-01",
        0.1,
    ),
    (
        "Homes for Ukraine",
        {"safe-routes-resettlement": 0.3, "destitution": 0.03},
        "2022-03-14",
        "2026-11-20",
        0.0,
    ),
    ("Southport", {"community-tensions": 0.3}, "2024-07-29", "2024-09-30", 0.01),
    (
        "Epping",
        {"community-tensions": 0.25, "asylum-system": 0.05},
        "2025-07-13",
        "2025-10-15",
        0.02,
    ),
    (
        "Priti Patel",
        {"politics-public-opinion": 0.1, "channel-crossings": 0.04, "asylum-system": 0.03},
        "2021-11-21",
        "2022-09-06",
        0.02,
    ),
    (
        "Suella Braverman",
        {"politics-public-opinion": 0.12, "channel-crossings": 0.05, "asylum-system": 0.04},
        "2022-09-06",
        "2023-11-13",
        0.02,
    ),
    (
        "James Cleverly",
        {"politics-public-opinion": 0.1, "removals-offshoring": 0.05},
        "2023-11-13",
        "2024-07-05",
        0.01,
    ),
    (
        "Yvette Cooper",
        {"politics-public-opinion": 0.1, "channel-crossings": 0.04, "asylum-system": 0.04},
        "2024-07-05",
        "2025-09-05",
        0.01,
    ),
    (
        "Shabana Mahmood",
        {"politics-public-opinion": 0.1, "asylum-system": 0.05, "removals-offshoring": 0.04},
        "2025-09-05",
        "2026-11-20",
        0.0,
    ),
    (
        "one in, one out",
        {"channel-crossings": 0.08, "removals-offshoring": 0.1},
        "2025-07-10",
        "2026-11-20",
        0.0,
    ),
)

# The language tracker's terms (labels as in migration 0006): rate per relevant item, then
# factors by segment, by the item's first topic, and over time (piecewise linear between
# dated points; two points a day apart make a step).
SEGMENTS = (
    "mixed-middle", "right-leaning", "progressive", "consumer-digital", "local-regional",
    "specialist", "official", "international", "unknown",
)  # fmt: skip
TERM_RATES: dict[str, tuple[float, dict[str, float], dict[str, float], list[tuple[str, float]]]] = {
    "illegal migrants": (
        0.015,
        {
            "right-leaning": 6,
            "official": 3,
            "local-regional": 1.5,
            "progressive": 0.3,
            "specialist": 0.2,
            "consumer-digital": 0.5,
            "international": 0.5,
        },
        {"channel-crossings": 2, "removals-offshoring": 1.5},
        [
            ("2021-11-21", 1),
            ("2023-03-06", 1),
            ("2023-03-07", 2.2),
            ("2024-07-05", 1.6),
            ("2026-11-20", 1.2),
        ],
    ),
    "invasion": (
        0.002,
        {"right-leaning": 8, "local-regional": 2, "progressive": 0.5, "specialist": 0.3},
        {"channel-crossings": 2},
        [
            ("2021-11-21", 1),
            ("2022-10-30", 1),
            ("2022-10-31", 8),
            ("2022-11-30", 3),
            ("2022-12-31", 1),
            ("2025-07-01", 1),
            ("2025-09-01", 2.5),
            ("2026-11-20", 1.5),
        ],
    ),
    "swarm": (
        0.0015,
        {"right-leaning": 5, "progressive": 0.3},
        {"channel-crossings": 2},
        [("2021-11-21", 1.5), ("2026-11-20", 0.4)],
    ),
    "bogus asylum seekers": (
        0.001,
        {"right-leaning": 8, "progressive": 0.2},
        {"asylum-system": 1.5},
        [("2021-11-21", 1), ("2026-11-20", 1)],
    ),
    "flood of migrants": (
        0.003,
        {"right-leaning": 5, "local-regional": 2, "progressive": 0.3},
        {},
        [("2021-11-21", 1), ("2026-11-20", 1)],
    ),
    "migrant crisis": (
        0.01,
        {"right-leaning": 3, "international": 2, "progressive": 0.5},
        {"channel-crossings": 1.5},
        [("2021-11-21", 1), ("2025-01-01", 1), ("2026-11-20", 1.6)],
    ),
    "people seeking asylum": (
        0.01,
        {
            "progressive": 4,
            "specialist": 6,
            "consumer-digital": 3,
            "official": 0.5,
            "right-leaning": 0.15,
        },
        {"integration-welcome": 2, "destitution": 2},
        [("2021-11-21", 1), ("2026-11-20", 2.5)],
    ),
    "refugees": (
        0.05,
        {"progressive": 1.5, "international": 1.5, "right-leaning": 0.8},
        {"safe-routes-resettlement": 3},
        [("2021-11-21", 1), ("2026-11-20", 1)],
    ),
    "asylum seekers": (
        0.05,
        {"right-leaning": 1.5, "mixed-middle": 1.2, "specialist": 0.6},
        {"asylum-system": 2},
        [("2021-11-21", 1), ("2026-11-20", 1)],
    ),
    "irregular migration": (
        0.008,
        {
            "specialist": 4,
            "official": 3,
            "international": 4,
            "progressive": 1.5,
            "right-leaning": 0.3,
        },
        {},
        [("2021-11-21", 1), ("2024-07-04", 1), ("2024-07-05", 2), ("2026-11-20", 2.2)],
    ),
}

TOPIC_PRIOR = {  # share of relevant items whose first topic this is, before news events
    "channel-crossings": 0.20,
    "asylum-system": 0.20,
    "removals-offshoring": 0.08,
    "politics-public-opinion": 0.08,
    "legal-migration": 0.08,
    "community-tensions": 0.05,
    "safe-routes-resettlement": 0.05,
    "detention": 0.04,
    "children-families": 0.04,
    "eu-citizens-euss": 0.035,
    "citizenship-rights": 0.03,
    "exploitation-trafficking": 0.03,
    "destitution": 0.03,
    "integration-welcome": 0.025,
}
TOPICS = tuple(TOPIC_PRIOR)
REGIONS = ("uk", "europe", "international")
# Outlets get Zipf shares by rank: these national outlets first, in this order, then the
# others by their segment's size times noise.
BIGGEST = (
    "bbc-news", "the-guardian", "daily-mail", "the-independent", "the-telegraph",
    "daily-express", "the-times", "sky-news", "the-sun", "daily-mirror", "gb-news", "itv-news",
)  # fmt: skip
SEGMENT_SIZE = {
    "mixed-middle": 10, "right-leaning": 10, "progressive": 9, "international": 2.5,
    "local-regional": 2.5, "consumer-digital": 1.5, "specialist": 1.5, "official": 1,
}  # fmt: skip
AGGREGATED_SHARE = 0.03  # items an aggregator carried from a publisher with no outlet
AGGREGATED_PUBLISHERS = (  # none of them an outlet in sources.yaml
    ("Cornwall Live", "cornwalllive.com"),
    ("Lincolnshire Live", "lincolnshirelive.co.uk"),
    ("Express & Star", "expressandstar.com"),
    ("Oxford Mail", "oxfordmail.co.uk"),
    ("The Argus", "theargus.co.uk"),
    ("Plymouth Herald", "plymouthherald.co.uk"),
    ("Leicester Mercury", "leicestermercury.co.uk"),
    ("Derby Telegraph", "derbytelegraph.co.uk"),
    ("Swindon Advertiser", "swindonadvertiser.co.uk"),
    ("Lancashire Telegraph", "lancashiretelegraph.co.uk"),
)
EVENTS = 36  # news events over five years: a topic's volume jumps 3-8x for 2-10 days
TITLE_TOKENS, SUMMARY_TOKENS, BODY_TOKENS = (7, 12), (22, 38), (215, 380)
FULL_TEXT_SHARE = 0.85
# Share of a field's tokens drawn from (topic, common migration, abroad) for relevant items,
# and from other news for irrelevant ones: title, summary, body.
TOPIC_SHARE = (0.30, 0.14, 0.06)
COMMON_SHARE = (0.15, 0.10, 0.05)
ABROAD_SHARE = (0.12, 0.06, 0.03)
OTHER_SHARE = (0.35, 0.15, 0.08)

EUROPEAN_COUNTRIES = {"FR", "BE", "IE", "DE", "CH", "SE", "PL", "IT", "ES", "NL", "AT", "DK"}
REGION_ODDS = {  # (uk, europe, international) by where the outlet is
    "GB": (0.82, 0.11, 0.07),
    "europe": (0.15, 0.72, 0.13),
    "elsewhere": (0.25, 0.30, 0.45),
    "aggregated": (0.85, 0.10, 0.05),
}
AUTHORS = tuple(
    f"{first} {last}"
    for first in ("Amelia", "Tom", "Priya", "James", "Sarah", "Daniel", "Fatima", "Rob")
    for last in ("Hughes", "Patel", "O'Neill", "Baker", "Ahmed", "Clarke", "Evans", "Ward")
)


# --- the plan: who published what, when, about what -----------------------------------------


@dataclass(frozen=True, slots=True)
class OutletInfo:
    """An outlet as synced from sources.yaml into the database."""

    id: int
    slug: str
    segment: str  # "unknown" for an aggregator
    country: str
    language: str
    domain: str
    feed_ids: tuple[int, ...]
    is_aggregator: bool


@dataclass(frozen=True, slots=True)
class Edition:
    id: int
    day: date
    window: tuple[int, int]  # Unix seconds, UTC
    entries: tuple[tuple[int, int, str, int, float, bool], ...]  # item, story, section,
    # position, score, removed


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything but the words, one array element per item (ids are index + 1, in
    publication order), per story (id = index + 1) or per day."""

    seed: int
    outlets: tuple[OutletInfo, ...]
    day: IntArray  # days since START (London)
    published: IntArray  # Unix seconds
    outlet: IntArray  # index into outlets; -1: carried by an aggregator, no outlet
    segment: IntArray  # index into SEGMENTS: the outlet's, or "unknown"
    relevant: BoolArray
    topics: IntArray  # (items, 3) indexes into TOPICS, -1 for none; the first is the main one
    region: IntArray  # index into REGIONS; -1 for irrelevant items
    relevance: FloatArray
    full_text: BoolArray
    story: IntArray  # story id, 0 for none
    story_first: IntArray  # per story: Unix seconds of its first item
    editions: tuple[Edition, ...]
    feed_days: tuple[tuple[date, int, int, int], ...]  # day, outlet id, feeds, failed
    events: tuple[tuple[str, date, int, float], ...]  # topic, first day, days, peak factor

    @property
    def items(self) -> int:
        return len(self.day)


def day_starts() -> IntArray:
    """Unix seconds of each London midnight from START to the day after END."""
    return np.array(
        [
            int(datetime.combine(START + timedelta(days=d), time(), LONDON).timestamp())
            for d in range(DAYS + 1)
        ],
        dtype=np.int64,
    )


def make_plan(items: int, outlets: Sequence[OutletInfo], seed: int) -> Plan:
    rng = np.random.default_rng(seed)
    days = np.arange(DAYS)
    weekday = np.array([(START + timedelta(days=int(d))).weekday() for d in days])

    # Volume per day: doubling over five years, quieter weekends, noise, news events.
    prior = np.array([TOPIC_PRIOR[t] for t in TOPICS])
    prior /= prior.sum()
    factor = np.ones((DAYS, len(TOPICS)))
    events: list[tuple[str, date, int, float]] = []
    event_odds = np.sqrt(prior) / np.sqrt(prior).sum()  # rarer topics have their days too
    for _ in range(EVENTS):
        topic, length = int(rng.choice(len(TOPICS), p=event_odds)), int(rng.integers(2, 11))
        first, peak = int(rng.integers(0, DAYS - length)), float(rng.uniform(3, 8))
        factor[first : first + length, topic] *= np.linspace(peak, (peak + 1) / 2, length)
        events.append((TOPICS[topic], START + timedelta(days=first), length, round(peak, 1)))
    mix = prior * factor  # (days, topics)
    relevant_weight = (
        (1 + days / (DAYS - 1))
        * np.where(weekday >= 5, 0.55, 1.0)
        * rng.lognormal(0, 0.15, DAYS)
        * mix.sum(axis=1)
    )
    irrelevant_share = np.where(days >= DAYS - RECENT_DAYS, 0.40, 0.05)
    weight = relevant_weight / (1 - irrelevant_share)
    per_day = rng.multinomial(items, weight / weight.sum())
    irrelevant_per_day = rng.binomial(per_day, irrelevant_share)

    day = np.repeat(days, per_day).astype(np.int64)
    rank_in_day = np.arange(items) - np.repeat(np.cumsum(per_day) - per_day, per_day)
    relevant = rank_in_day >= irrelevant_per_day[day]

    # Time of day (London): mostly office hours, some at any hour.
    starts = day_starts()
    busy = np.clip(rng.normal(12.5 / 24, 3.5 / 24, items), 0, 0.9999)
    moment = np.where(rng.random(items) < 0.8, busy, rng.random(items))
    published = starts[day] + (moment * (starts[day + 1] - starts[day])).astype(np.int64)

    topics = _topics(rng, day, relevant, mix, prior)
    outlet, feed_days = _outlets(rng, outlets, day)
    region = _regions(rng, outlets, outlet, relevant)
    relevance = np.where(
        relevant, 0.5 + 0.5 * rng.beta(2, 1.5, items), 0.49 * rng.beta(1.2, 3, items)
    )
    full_text = rng.random(items) < FULL_TEXT_SHARE

    order = np.argsort(published, kind="stable")  # ids in publication order
    day, published, outlet, relevant = day[order], published[order], outlet[order], relevant[order]
    topics, region, relevance, full_text = (
        topics[order],
        region[order],
        relevance[order],
        full_text[order],
    )
    story, story_first, story_size = _stories(rng, day, published, relevant, topics)
    editions = _editions(rng, starts, story_first, story_size, topics, story)
    by_outlet = [SEGMENTS.index(o.segment) for o in outlets] + [SEGMENTS.index("unknown")]
    segment = np.array(by_outlet, dtype=np.int64)[outlet]
    return Plan(
        seed, tuple(outlets), day, published, outlet, segment, relevant, topics, region,
        relevance, full_text, story, story_first, editions, feed_days, tuple(events),
    )  # fmt: skip


def _topics(
    rng: np.random.Generator, day: IntArray, relevant: BoolArray, mix: FloatArray, prior: FloatArray
) -> IntArray:
    """The main topic by the day's mix (events included), then up to two more by the prior."""
    items = len(day)
    cumulative = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    topics = np.full((items, 3), -1, dtype=np.int64)
    main = np.zeros(items, dtype=np.int64)
    for start in range(0, items, 100_000):  # (items, topics) comparisons, in slices
        part = slice(start, start + 100_000)
        main[part] = (rng.random(len(day[part]))[:, None] > cumulative[day[part]]).sum(axis=1)
    topics[:, 0] = np.minimum(main, len(TOPICS) - 1)
    count = rng.choice(3, size=items, p=[0.55, 0.35, 0.10]) + 1
    for column in (1, 2):
        wanted = count > column
        extra = rng.choice(len(TOPICS), size=items, p=prior)
        for _ in range(50):  # draw again where a topic repeats
            clash = (extra[:, None] == topics[:, :column]).any(axis=1)
            if not clash.any():
                break
            extra[clash] = rng.choice(len(TOPICS), size=int(clash.sum()), p=prior)
        topics[:, column] = np.where(wanted, extra, -1)
    topics[~relevant] = -1
    return topics


def _outlets(
    rng: np.random.Generator, outlets: Sequence[OutletInfo], day: IntArray
) -> tuple[IntArray, tuple[tuple[date, int, int, int], ...]]:
    """Each item's outlet (Zipf shares, national outlets first) and each outlet's fetch record
    per day: a few failures, multi-day outages (no items then) and two bad days for all."""
    count = len(outlets)
    feeds = np.array([len(o.feed_ids) for o in outlets])
    failed = rng.binomial(np.broadcast_to(feeds, (DAYS, count)), 0.004)
    down = np.zeros((DAYS, count), dtype=bool)
    for o in range(count):
        if rng.random() < 0.35:
            for _ in range(int(rng.integers(1, 4))):
                first = int(rng.integers(0, DAYS - 14))
                down[first : first + int(rng.integers(2, 15)), o] = True
    failed = np.where(down, feeds, failed)
    for bad in rng.choice(DAYS, size=2, replace=False):
        failed[bad] = np.maximum(failed[bad], rng.binomial(feeds, 0.6))
    feed_days = tuple(
        (START + timedelta(days=d), outlets[o].id, int(feeds[o]), int(failed[d, o]))
        for d in range(DAYS)
        for o in range(count)
        if feeds[o]
    )

    publishers = np.array([o for o in range(count) if not outlets[o].is_aggregator])
    size = np.array([SEGMENT_SIZE.get(outlets[o].segment, 1.0) for o in publishers])
    size = size * rng.lognormal(0, 0.6, len(publishers))
    for o, info in enumerate(outlets):  # the biggest national outlets lead, in order
        if info.slug in BIGGEST:
            size[publishers == o] = 1000 - BIGGEST.index(info.slug)
    ranked = publishers[np.argsort(-size)]
    share = np.zeros(count)
    share[ranked] = 1 / (np.arange(len(ranked)) + 1.5) ** 0.9
    share /= share.sum()
    outlet = rng.choice(count, size=len(day), p=share)
    for _ in range(20):  # an outlet whose feeds were all down that day published nothing seen
        silent = down[day, outlet]
        if not silent.any():
            break
        outlet[silent] = rng.choice(count, size=int(silent.sum()), p=share)
    outlet[rng.random(len(day)) < AGGREGATED_SHARE] = -1
    return outlet.astype(np.int64), feed_days


def _regions(
    rng: np.random.Generator, outlets: Sequence[OutletInfo], outlet: IntArray, relevant: BoolArray
) -> IntArray:
    def where(o: OutletInfo) -> str:
        if o.country == "GB":
            return "GB"
        return "europe" if o.country in EUROPEAN_COUNTRIES else "elsewhere"

    odds = np.array([REGION_ODDS[where(o)] for o in outlets] + [REGION_ODDS["aggregated"]])
    cumulative = np.cumsum(odds, axis=1)[outlet]  # outlet -1 picks the last row
    region = (rng.random(len(outlet))[:, None] > cumulative).sum(axis=1)
    return np.where(relevant, np.minimum(region, 2), -1).astype(np.int64)


def _stories(
    rng: np.random.Generator,
    day: IntArray,
    published: IntArray,
    relevant: BoolArray,
    topics: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Relevant items of a day and main topic, in time order, cut into stories of 2.5
    reports on average; story ids follow their first reports' order."""
    members = np.flatnonzero(relevant)
    key = day[members] * len(TOPICS) + topics[members, 0]
    members = members[np.argsort(key, kind="stable")]
    key = key[np.argsort(key, kind="stable")]
    new = np.ones(len(members), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (rng.random(len(members) - 1) < 0.4)
    number = np.cumsum(new) - 1
    first_member = members[new]
    renumber = np.empty(len(first_member), dtype=np.int64)
    renumber[np.argsort(first_member, kind="stable")] = np.arange(len(first_member))
    story = np.zeros(len(day), dtype=np.int64)
    story[members] = renumber[number] + 1
    first = np.sort(first_member)
    return story, published[first], np.bincount(story)[1:]


def _editions(
    rng: np.random.Generator,
    starts: IntArray,
    story_first: IntArray,
    story_size: IntArray,
    topics: IntArray,
    story: IntArray,
) -> tuple[Edition, ...]:
    """A sent edition every weekday: the biggest 25-40 stories that began in its window."""
    with_story = np.flatnonzero(story)  # in publication order
    ids, first = np.unique(story[with_story], return_index=True)
    lead = np.zeros(len(story_first), dtype=np.int64)  # each story's first item
    lead[ids - 1] = with_story[first]
    editions: list[Edition] = []
    previous: date | None = None
    for d in range(DAYS):
        today = START + timedelta(days=d)
        if today.weekday() >= 5:
            continue
        before = previous or today - timedelta(days=3 if today.weekday() == 0 else 1)
        window = (at(before, CUTOFF), at(today, CUTOFF))
        low, high = np.searchsorted(story_first, window, side="left")
        candidates = np.arange(low, high)
        score = story_size[candidates] + rng.random(len(candidates))
        chosen = candidates[np.argsort(-score)][: int(rng.integers(25, 41))]
        entries = tuple(
            (
                int(lead[s]) + 1,
                int(s) + 1,
                TOPICS[int(topics[lead[s], 0])],
                position,
                round(float(story_size[s] + rng.random()), 3),
                bool(rng.random() < 0.03),  # taken out by the editor
            )
            for position, s in enumerate(chosen, 1)
        )
        editions.append(Edition(len(editions) + 1, today, window, entries))
        previous = today
    return tuple(editions)


def at(day: date, moment: time) -> int:
    return int(datetime.combine(day, moment, LONDON).timestamp())


def stamps(seconds: IntArray, suffix: str) -> list[str]:
    """Unix seconds as the database stores them: SQLAlchemy's SQLite format (naive UTC), or
    with suffix "+00" a PostgreSQL timestamptz."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="us")
    return [s.replace("T", " ") + suffix for s in text.tolist()]


# --- the words ------------------------------------------------------------------------------

POOL_EUROPE = len(TOPICS)  # then international, other news, common migration words, general
POOL_OTHER, POOL_COMMON, POOL_GENERAL = POOL_EUROPE + 2, POOL_EUROPE + 3, POOL_EUROPE + 4


@dataclass(frozen=True, slots=True)
class Vocabulary:
    tokens: npt.NDArray[np.object_]  # the pools' tokens, then the inserted phrases
    words: IntArray  # words per token
    cumulative: FloatArray  # pool p's tokens have cumulative weights in (p, p + 1]
    entities: tuple[tuple[int, FloatArray, int, int, float], ...]  # token, rate by topic,
    # first day, last day, factor outside them
    terms: tuple[tuple[IntArray, FloatArray, FloatArray, FloatArray], ...]  # variant tokens,
    # rate by segment, factor by main topic, factor by day


def _zipf(count: int, exponent: float = 1.0) -> FloatArray:
    weights = 1 / (np.arange(count) + 1.5) ** exponent
    return cast(FloatArray, weights / weights.sum())


def _split(tokens: str) -> list[str]:
    return [t.strip() for t in tokens.split("|") if t.strip()]


def _day(text: str) -> int:
    return (date.fromisoformat(text) - START).days


def make_vocabulary(terms: Sequence[tuple[str, str, list[str]]]) -> Vocabulary:
    """The pools in POOL order; `terms` are the tracker's (label, kind, phrases)."""
    pools: list[tuple[list[str], FloatArray]] = [
        (_split(TOPIC_WORDS[t]), _zipf(len(_split(TOPIC_WORDS[t])), 0.9)) for t in TOPICS
    ]
    for listed in (ABROAD_WORDS["europe"], ABROAD_WORDS["international"], OTHER_NEWS, COMMON):
        pools.append((_split(listed), _zipf(len(_split(listed)), 0.9)))
    general = [_split(FUNCTION_WORDS), _split(NEWS_WORDS), _split(SENTENCE_ENDS)]
    weights = [0.45 * _zipf(len(general[0])), 0.48 * _zipf(len(general[1]), 0.8)]
    weights.append(np.full(len(general[2]), 0.07 / len(general[2])))
    pools.append(([t for part in general for t in part], np.concatenate(weights)))

    tokens: list[str] = []
    cumulative: list[FloatArray] = []
    for number, (words, weight) in enumerate(pools):
        tokens += words
        running = np.cumsum(weight)
        cumulative.append(number + running / running[-1])

    entities = []
    for phrase, rates, first, last, outside in ENTITIES:
        topic_rate = np.zeros(len(TOPICS) + 1)  # index 0: no topic
        for topic, rate in rates.items():
            topic_rate[TOPICS.index(topic) + 1] = rate
        entities.append((len(tokens), topic_rate, _day(first), _day(last), outside))
        tokens.append(phrase)
    days = np.arange(DAYS)
    term_rates = []
    for label, _kind, phrases in terms:
        base, by_segment, by_topic, drift = TERM_RATES[label]
        variants = np.arange(len(tokens), len(tokens) + len(phrases))
        tokens += phrases
        segment_rate = np.array([base * by_segment.get(s, 1.0) for s in SEGMENTS])
        topic_factor = np.array([by_topic.get(t, 1.0) for t in TOPICS])
        points = [(_day(day), value) for day, value in drift]
        over_time = np.interp(days, [p[0] for p in points], [p[1] for p in points])
        term_rates.append((variants, segment_rate, topic_factor, over_time))
    return Vocabulary(
        np.array(tokens, dtype=object),
        np.array([len(t.split()) for t in tokens], dtype=np.int64),
        np.concatenate(cumulative),
        tuple(entities),
        tuple(term_rates),
    )


ITEM_COLUMNS = (
    "id", "feed_id", "outlet_id", "publisher_domain", "publisher_name", "url", "canonical_url",
    "url_hash", "guid", "title", "summary", "full_text", "author", "image_url", "language",
    "published_at", "published_estimated", "fetched_at", "updated_at", "content_hash",
    "extract_status", "story_id",
)  # fmt: skip
LABEL_COLUMNS = (
    "item_id", "model_version", "relevant", "relevance", "region", "segment", "labelled_at",
)  # fmt: skip
TOPIC_COLUMNS = ("item_id", "topic", "score")
MODEL_VERSION = "bench-archive-1"


@dataclass(frozen=True, slots=True)
class Chunk:
    items: list[tuple[Any, ...]]  # in ITEM_COLUMNS order
    labels: list[tuple[Any, ...]]
    topics: list[tuple[Any, ...]]
    words: int  # in titles, summaries and texts


def iter_chunks(plan: Plan, vocabulary: Vocabulary, suffix: str) -> Iterator[Chunk]:
    """The items' rows, CHUNK items at a time; `suffix` as for `stamps`."""
    for number, first in enumerate(range(0, plan.items, CHUNK)):
        rng = np.random.default_rng([plan.seed, 7, number])
        yield make_chunk(plan, vocabulary, first, min(plan.items, first + CHUNK), rng, suffix)


def make_chunk(
    plan: Plan, vocabulary: Vocabulary, first: int, stop: int, rng: np.random.Generator, suffix: str
) -> Chunk:
    part = slice(first, stop)
    count = stop - first
    relevant, topics, region = plan.relevant[part], plan.topics[part], plan.region[part]
    lengths = np.stack(
        [
            rng.integers(low, high + 1, count)
            for low, high in (TITLE_TOKENS, SUMMARY_TOKENS, BODY_TOKENS)
        ],
        axis=1,
    )
    lengths[~plan.full_text[part], 2] = 0
    tokens = _draw_tokens(rng, vocabulary, lengths, relevant, topics, region)
    starts = np.concatenate([[0], np.cumsum(lengths.sum(axis=1))[:-1]])
    segment = plan.segment[part]
    _insert_phrases(rng, vocabulary, tokens, starts, lengths, plan, part, segment)

    words = vocabulary.tokens[tokens].tolist()
    published = plan.published[part]
    fetched = published + rng.integers(120, 3600, count)
    published_at, fetched_at = stamps(published, suffix), stamps(fetched, suffix)
    labelled_at = stamps(fetched + 60, suffix)
    feed_pick, author_pick = rng.random(count), rng.integers(0, len(AUTHORS) * 5 // 3, count)
    publisher_pick = rng.integers(0, len(AGGREGATED_PUBLISHERS), count)
    guid_pick, scores = rng.random(count), np.round(rng.uniform(0.5, 1.0, (count, 3)), 3)
    aggregator = next((o for o in plan.outlets if o.is_aggregator), None)
    items, labels, topic_rows = [], [], []
    for i in range(count):
        item_id = first + i + 1
        s, (t, m, b) = int(starts[i]), lengths[i].tolist()
        title = _sentence(words[s : s + t]).rstrip(".")
        summary = _sentence(words[s + t : s + t + m])
        body = _sentence(words[s + t + m : s + t + m + b]) if b else None
        o = int(plan.outlet[first + i])
        if o >= 0:
            outlet = plan.outlets[o]
            name, domain, outlet_id = "", outlet.domain, outlet.id
            feeds = outlet.feed_ids
        else:
            name, domain = AGGREGATED_PUBLISHERS[int(publisher_pick[i])]
            outlet_id, feeds = None, aggregator.feed_ids if aggregator else ()
        day = published_at[i][:10].replace("-", "/")
        slug = "-".join(w.lower() for w in title.split()[:7] if w.isalnum())
        url = f"https://www.{domain}/news/{day}/{slug}-{item_id}"
        story = int(plan.story[first + i])
        items.append(
            (
                item_id,
                feeds[int(feed_pick[i] * len(feeds))] if feeds else None,
                outlet_id,
                domain,
                name,
                url,
                url,
                hashlib.sha256(url.encode()).hexdigest(),
                url if guid_pick[i] < 0.7 else None,
                title,
                summary,
                body,
                AUTHORS[a] if (a := int(author_pick[i])) < len(AUTHORS) else None,
                None,
                "en",
                published_at[i],
                False,
                fetched_at[i],
                fetched_at[i],
                hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest(),
                "ok" if body else "empty",
                story or None,
            )
        )
        is_relevant = bool(relevant[i])
        labels.append(
            (
                item_id,
                MODEL_VERSION,
                is_relevant,
                round(float(plan.relevance[first + i]), 4),
                REGIONS[int(region[i])] if is_relevant else None,
                SEGMENTS[int(segment[i])],
                labelled_at[i],
            )
        )
        for column, topic in enumerate(topics[i].tolist()):
            if topic >= 0:
                score = 1.0 if column == 0 else float(scores[i, column])
                topic_rows.append((item_id, TOPICS[topic], score))
    return Chunk(items, labels, topic_rows, int(vocabulary.words[tokens].sum()))


def _sentence(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _draw_tokens(
    rng: np.random.Generator,
    vocabulary: Vocabulary,
    lengths: IntArray,
    relevant: BoolArray,
    topics: IntArray,
    region: IntArray,
) -> IntArray:
    """Every position's pool, then a token from it (one searchsorted over all positions)."""
    per_item = lengths.sum(axis=1)
    item = np.repeat(np.arange(len(per_item)), per_item)
    offset = np.arange(len(item)) - np.repeat(np.cumsum(per_item) - per_item, per_item)
    field = (offset >= lengths[item, 0]).astype(np.int64) + (
        offset >= lengths[item, 0] + lengths[item, 1]
    )
    u = rng.random(len(item))
    topic_share = np.array(TOPIC_SHARE)[field]
    common_share = topic_share + np.array(COMMON_SHARE)[field]
    abroad_share = common_share + np.array(ABROAD_SHARE)[field]
    is_relevant, where = relevant[item], region[item]
    first, second, third = topics[item, 0], topics[item, 1], topics[item, 2]
    v = rng.random(len(item))  # which of the item's topics
    topic = np.where(
        (v < 0.6) | (second < 0), first, np.where((v < 0.85) | (third < 0), second, third)
    )
    pool = np.full(len(item), POOL_GENERAL, dtype=np.int64)
    pool = np.where(is_relevant & (u < abroad_share) & (where >= 1), POOL_EUROPE + where - 1, pool)
    pool = np.where(is_relevant & (u < common_share), POOL_COMMON, pool)
    pool = np.where(is_relevant & (u < topic_share), topic, pool)
    pool = np.where(~is_relevant & (u < np.array(OTHER_SHARE)[field]), POOL_OTHER, pool)
    picked = np.searchsorted(vocabulary.cumulative, pool + rng.random(len(item)), side="right")
    return cast(IntArray, picked.astype(np.int64))


def _insert_phrases(
    rng: np.random.Generator,
    vocabulary: Vocabulary,
    tokens: IntArray,
    starts: IntArray,
    lengths: IntArray,
    plan: Plan,
    part: slice,
    segment: IntArray,
) -> None:
    """Names and tracked phrases written over random positions of relevant items."""
    relevant, topics, day = plan.relevant[part], plan.topics[part], plan.day[part]
    for token, by_topic, first, last, outside in vocabulary.entities:
        rate = by_topic[topics + 1].max(axis=1)
        rate = rate * np.where((day >= first) & (day <= last), 1.0, outside)
        chosen = np.flatnonzero(relevant & (rng.random(len(day)) < rate))
        _place(rng, tokens, starts, lengths, chosen, np.full(len(chosen), token))
    main = np.maximum(topics[:, 0], 0)
    for variants, segment_rate, topic_factor, over_time in vocabulary.terms:
        rate = segment_rate[segment] * topic_factor[main] * over_time[day]
        chosen = np.flatnonzero(relevant & (rng.random(len(day)) < rate))
        picked = variants[rng.integers(0, len(variants), len(chosen))]
        _place(rng, tokens, starts, lengths, chosen, picked)


def _place(
    rng: np.random.Generator,
    tokens: IntArray,
    starts: IntArray,
    lengths: IntArray,
    items: IntArray,
    values: IntArray,
) -> None:
    """Title 15%, summary 30%, text 55% of the time (the summary when there is no text)."""
    field = np.searchsorted([0.15, 0.45], rng.random(len(items)), side="right")
    field = np.where((field == 2) & (lengths[items, 2] == 0), 1, field)
    before = np.where(field >= 1, lengths[items, 0], 0) + np.where(field == 2, lengths[items, 1], 0)
    size = lengths[items, field]
    tokens[starts[items] + before + (rng.random(len(items)) * size).astype(np.int64)] = values
