"""The demo organizations' customers: fictional companies, believable on a screen.

Behaviour drives how each customer pays: `prompt` pays around the due date, `steady` a couple
of weeks late, `slow` one to two months late and sometimes in part, `distressed` rarely and in
part, with write-offs for the oldest debts.
"""

from dataclasses import dataclass
from decimal import Decimal

PROMPT, STEADY, SLOW, DISTRESSED = "prompt", "steady", "slow", "distressed"
ENTERPRISE, MID_MARKET, SMB = "enterprise", "mid-market", "smb"

RISK_RANGE = {PROMPT: (4, 18), STEADY: (19, 42), SLOW: (45, 72), DISTRESSED: (76, 96)}

# Illustrative reference values (US dollars for one unit) for the demo's daily exchange rates;
# an organization loads its real rates by importing a `date,currency,rate` file.
USD_PER_UNIT = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.73,
    "AUD": 0.66,
    "NZD": 0.60,
    "JPY": 0.0067,
    "NOK": 0.094,
    "SGD": 0.74,
    "CHF": 1.12,
    "SEK": 0.096,
    "DKK": 0.145,
}

# Rough rate against USD, to keep amounts comparable across currencies.
CURRENCY_FACTOR = {
    "USD": Decimal("1"),
    "CAD": Decimal("1.36"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "AUD": Decimal("1.52"),
    "JPY": Decimal("150"),
    "SGD": Decimal("1.34"),
    "NZD": Decimal("1.65"),
    "NOK": Decimal("10.6"),
    "DKK": Decimal("6.9"),
}

# Invoice amount range in USD, payment terms in days, and invoices per customer by segment.
SEGMENT_PROFILE = {
    ENTERPRISE: ((6_000, 48_000), (45, 60), (7, 9)),
    MID_MARKET: ((1_800, 14_000), (30, 30, 45), (5, 7)),
    SMB: ((280, 3_200), (15, 30, 30), (3, 5)),
}

# What Northwind sells, for invoice descriptions.
PRODUCT_LINES = (
    "Industrial fasteners, monthly replenishment",
    "Corrugated packaging and pallet wrap",
    "Safety equipment and PPE",
    "Janitorial and facility supplies",
    "Warehouse shelving and installation",
    "Electrical components",
    "Hydraulic fittings and hoses",
    "Office and breakroom supplies",
    "Cold-chain packaging",
    "MRO spare parts",
)


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    country: str
    time_zone: str
    currency: str
    segment: str
    behaviour: str
    owner: str = ""  # "sales", "csm" or "" (a role short name of a demo login)


_SEGMENT_CODES = {"ent": ENTERPRISE, "mid": MID_MARKET, "smb": SMB}


def _customers(table: str) -> tuple[CustomerSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        name, country, zone, currency, segment, behaviour, *owner = (
            cell.strip() for cell in line.split("|")
        )
        specs.append(
            CustomerSpec(name, country, zone, currency, _SEGMENT_CODES[segment], behaviour, *owner)
        )
    return tuple(specs)


# name | country | time zone | currency | segment | behaviour | owner (a demo login)
DEMO_CUSTOMERS = _customers(
    """
Harborline Logistics Inc.              | US | America/New_York    | USD | ent | steady     | sales
Kestrel Aerospace Components LLC       | US | America/Los_Angeles | USD | ent | prompt     | csm
Blue Mesa Dental Group                 | US | America/Phoenix     | USD | smb | slow
Cedar & Pine Hospitality Group         | US | America/Denver      | USD | mid | steady     | sales
Great Lakes Fabrication Co.            | US | America/Chicago     | USD | mid | slow
Sunbelt Medical Supply Inc.            | US | America/New_York    | USD | ent | prompt     | csm
Riverbend Unified School District      | US | America/Chicago     | USD | mid | steady
Copperline Electric LLC                | US | America/Denver      | USD | smb | distressed | sales
Tidewater Marine Services Inc.         | US | America/New_York    | USD | mid | slow
Pacific Crest Brewing Co.              | US | America/Los_Angeles | USD | smb | steady
Lone Star Cold Storage LLC             | US | America/Chicago     | USD | mid | distressed
Alder Street Bakery                    | US | America/Los_Angeles | USD | smb | prompt
Granite State Builders Inc.            | US | America/New_York    | USD | mid | slow       | sales
Evergreen Senior Living                | US | America/Los_Angeles | USD | ent | steady     | csm
Mesa Verde Solar Inc.                  | US | America/Denver      | USD | mid | distressed
Bluegrass Equine Veterinary            | US | America/New_York    | USD | smb | steady
Northgate Property Management          | US | America/Chicago     | USD | mid | prompt
Aloha Island Provisions LLC            | US | Pacific/Honolulu    | USD | smb | slow
Keystone Packaging Corp.               | US | America/New_York    | USD | ent | steady     | sales
Summit Ridge Outfitters                | US | America/Denver      | USD | smb | prompt
Bayou Industrial Services LLC          | US | America/Chicago     | USD | mid | slow
Silver Lake Analytics Inc.             | US | America/Los_Angeles | USD | mid | prompt     | csm
Frontier Freight Lines Inc.            | US | America/Anchorage   | USD | mid | distressed
Maple Leaf Outfitters Ltd.             | CA | America/Toronto     | CAD | mid | steady     | sales
Prairie Grain Cooperative              | CA | America/Winnipeg    | CAD | ent | prompt
Coastal Timber Works Ltd.              | CA | America/Vancouver   | CAD | mid | slow
Halifax Harbour Seafoods Inc.          | CA | America/Halifax     | CAD | smb | steady
Brightwater Foods GmbH                 | DE | Europe/Berlin       | EUR | ent | prompt     | csm
Atelier Lumière SARL                   | FR | Europe/Paris        | EUR | smb | slow
Van der Berg Installatietechniek B.V.  | NL | Europe/Amsterdam    | EUR | mid | steady
Hotel Miramar Costa S.L.               | ES | Europe/Madrid       | EUR | mid | distressed
Officine Ferraro S.r.l.                | IT | Europe/Rome         | EUR | mid | slow       | sales
Liffey Digital Media DAC               | IE | Europe/Dublin       | EUR | smb | prompt
Nordlicht Pharma AG                    | DE | Europe/Berlin       | EUR | ent | steady     | csm
Oakridge Property Management Ltd       | GB | Europe/London       | GBP | mid | steady
Thameside Catering Ltd                 | GB | Europe/London       | GBP | smb | slow
Pennine Engineering plc                | GB | Europe/London       | GBP | ent | prompt     | sales
Highland Distillers Supply Ltd         | GB | Europe/London       | GBP | mid | distressed
Southern Cross Mining Supplies Pty Ltd | AU | Australia/Perth     | AUD | ent | steady
Koala Creek Wines Pty Ltd              | AU | Australia/Adelaide  | AUD | smb | slow
Harbourside Clinics Pty Ltd            | AU | Australia/Sydney    | AUD | mid | prompt     | csm
Brisbane Cold Chain Pty Ltd            | AU | Australia/Brisbane  | AUD | mid | distressed
Sakura Precision Industries K.K.       | JP | Asia/Tokyo          | JPY | ent | prompt     | sales
Kansai Robotics Co., Ltd.              | JP | Asia/Tokyo          | JPY | mid | steady
Hokkaido Dairy Cooperative             | JP | Asia/Tokyo          | JPY | smb | steady
Lion City Logistics Pte. Ltd.          | SG | Asia/Singapore      | SGD | mid | steady
Aroha Organics Ltd                     | NZ | Pacific/Auckland    | NZD | smb | prompt
Grupo Alameda S.A. de C.V.             | MX | America/Mexico_City | USD | mid | slow
Fjordkyst Sjømat AS                    | NO | Europe/Oslo         | NOK | mid | steady
Desert Rose Hospitality LLC            | AE | Asia/Dubai          | USD | ent | slow       | sales
"""
)

EUROPE_CUSTOMERS = _customers(
    """
Havenstad Stevedoring B.V. | NL | Europe/Amsterdam  | EUR | ent | steady
Bäckerei Sonnenschein GmbH | DE | Europe/Berlin     | EUR | smb | prompt
Soieries de Lyon SAS       | FR | Europe/Paris      | EUR | mid | slow
Nørrebro Design Studio ApS | DK | Europe/Copenhagen | DKK | smb | steady
Scheldt Cold Logistics NV  | BE | Europe/Brussels   | EUR | mid | distressed
"""
)

JAPANESE_FIRST_NAMES = ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kenji", "Emi", "Takumi")
JAPANESE_LAST_NAMES = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Nakamura")

CONTACT_ROLES = ("Accounts payable", "Finance manager", "Procurement")

DEMO_FULL_NAMES = {
    "controller": "Dana Whitfield",
    "ar_manager": "Marcus Bell",
    "ar_operator": "Priya Raman",
    "billing_admin": "Tom Okafor",
    "sales": "Elena Costa",
    "csm": "Jordan Lee",
    "legal": "Ruth Abernathy",
}
