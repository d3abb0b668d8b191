"""Word lists for synthetic but believable customers and contacts.

Emails use the reserved `.example` top-level domain, so nothing seeded can reach a real inbox.
"""

import random
import re
import unicodedata

FIRST_NAMES = (
    "Aaliyah", "Adrian", "Aiko", "Alejandro", "Amara", "Anders", "Ananya", "Andre", "Beatriz",
    "Benjamin", "Camille", "Carlos", "Chen", "Chloe", "Daniel", "Dmitri", "Elena", "Emeka",
    "Emily", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hannah", "Hiroshi", "Ines",
    "Isaac", "Jamal", "Jasmine", "Javier", "Julia", "Kai", "Kavya", "Kenji", "Laila", "Liam",
    "Lucia", "Malik", "Marco", "Maria", "Mateo", "Maya", "Mei", "Mohammed", "Nadia", "Nina",
    "Noah", "Olivia", "Omar", "Priya", "Rafael", "Rosa", "Samuel", "Sarah", "Sofia", "Tariq",
    "Theo", "Valentina", "Wei", "Yara", "Yusuf", "Zara", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Abbott", "Alvarez", "Andersen", "Baker", "Bianchi", "Brennan", "Campbell", "Chowdhury",
    "Costa", "Dubois", "Eriksson", "Fischer", "Fitzgerald", "Garcia", "Gupta", "Hansen",
    "Hartmann", "Hughes", "Ibrahim", "Ito", "Jansen", "Kapoor", "Kelly", "Kim", "Kowalski",
    "Laurent", "Lindqvist", "Lopez", "MacLeod", "Martin", "Moreau", "Müller", "Nakamura",
    "Nguyen", "Novak", "O'Connor", "Okafor", "Olsen", "Patel", "Petrov", "Quinn", "Rahman",
    "Rossi", "Santos", "Schmidt", "Silva", "Sato", "Tanaka", "Thompson", "Van Dijk", "Walsh",
    "Weber", "Williams", "Yamamoto", "Zhang",
)  # fmt: skip

COMPANY_FIRST = (
    "Alder", "Apex", "Arbor", "Atlas", "Beacon", "Birch", "Blue Ridge", "Bright", "Cascade",
    "Cedar", "Clearwater", "Coastal", "Copper", "Crescent", "Delta", "Eastgate", "Evergreen",
    "Falcon", "Fieldstone", "Granite", "Harbor", "Highland", "Horizon", "Iron", "Juniper",
    "Keystone", "Lakeside", "Lighthouse", "Maple", "Meridian", "Northstar", "Oak", "Pacific",
    "Pinnacle", "Prairie", "Redwood", "Riverbend", "Sierra", "Silverline", "Summit", "Sunrise",
    "Tidewater", "Trident", "Vantage", "Westbrook", "Willow",
)  # fmt: skip

COMPANY_SECOND = (
    "Analytics", "Apparel", "Architects", "Automation", "Bakery", "Biotech", "Brewing",
    "Builders", "Cabinetry", "Clinics", "Components", "Construction", "Consulting", "Dental",
    "Distribution", "Electric", "Engineering", "Fabrication", "Farms", "Fitness", "Foods",
    "Freight", "Furniture", "Hospitality", "Imaging", "Industries", "Instruments", "Labs",
    "Landscaping", "Logistics", "Machining", "Media", "Medical", "Metals", "Mills", "Motors",
    "Optics", "Outfitters", "Packaging", "Pharma", "Plastics", "Printing", "Properties",
    "Robotics", "Software", "Solar", "Staffing", "Supply", "Systems", "Textiles", "Tooling",
    "Travel", "Wholesale",
)  # fmt: skip

# Legal-form suffix and e-mail top-level domain by country.
COMPANY_SUFFIX = {
    "US": ("Inc.", "LLC", "Co.", "Corp."),
    "CA": ("Ltd.", "Inc."),
    "GB": ("Ltd", "plc", "LLP"),
    "IE": ("Ltd", "DAC"),
    "DE": ("GmbH", "AG"),
    "FR": ("SAS", "SARL"),
    "NL": ("B.V.",),
    "ES": ("S.L.", "S.A."),
    "IT": ("S.r.l.", "S.p.A."),
    "AU": ("Pty Ltd",),
    "NZ": ("Ltd",),
    "JP": ("K.K.", "Co., Ltd."),
    "SG": ("Pte. Ltd.",),
}

AP_ROLES = (
    "Accounts payable", "AP specialist", "Controller", "Finance manager", "Office manager",
    "Procurement", "CFO", "Bookkeeper",
)  # fmt: skip


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def company_name(rng: random.Random, country: str) -> str:
    suffix = rng.choice(COMPANY_SUFFIX.get(country, ("Ltd",)))
    return f"{rng.choice(COMPANY_FIRST)} {rng.choice(COMPANY_SECOND)} {suffix}"


_NOT_DECOMPOSED = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d"})


def ascii_text(text: str) -> str:
    """ "Sjømat Lumière Müller" -> "sjomat lumiere muller" (lower case, ASCII only)."""
    text = text.lower().translate(_NOT_DECOMPOSED)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def email_domain(company: str, unique: str = "") -> str:
    """`harbor-logistics.example` for "Harbor Logistics Inc."; `unique` disambiguates."""
    words = re.sub(r"[^a-z0-9 ]+", "", ascii_text(company).replace("&", " ")).split()
    suffixes = {re.sub(r"[^a-z0-9]+", "", s.lower()) for v in COMPANY_SUFFIX.values() for s in v}
    core = [w for w in words if w not in suffixes][:3] or ["customer"]
    label = "-".join(core)
    return f"{label}{'-' + unique if unique else ''}.example"


def email_local(name: str) -> str:
    parts = (re.sub(r"[^a-z]+", "", part) for part in ascii_text(name).split())
    return ".".join(part for part in parts if part) or "ap"
