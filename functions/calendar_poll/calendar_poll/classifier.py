"""Is a calendar event one of the user's job interviews, for which opportunity, and of what kind?

Pure domain logic: no I/O, no logging, standard library only. The sync engine parses each Google
Calendar v3 event with `CalendarEvent.from_google`, builds the user's `OpportunityHint`s once per sync
(`index_opportunities`), and calls `classify` per event. Nothing here records event content:
`Detection.reasons` holds rule names and the names of our own keywords, never the event's text,
addresses or the user's company names.

The classifier adds up evidence (integer points) and calls an event an interview at `THRESHOLD`:

- keywords in the title (strong +5, medium +2) and in the description/location (+2, +1), English
  plus basic German, French, Spanish, Portuguese, Italian and Dutch terms;
- the company side: an attendee or organizer who is one of the opportunity's contacts (+4) or on one
  of its domains, given or guessed from the company name (+3); the company's name in the title (+3,
  +1 more beside chat/call/intro words) or in the description/location (+1);
- hiring machinery: an applicant-tracking/interview-scheduling domain (+3), an online coding or
  interview tool (+3), a generic booking page such as Calendly (+2), a recruiter-looking attendee (+2);
- context: a video-call link (+1), someone from another (non-free-mail) organisation present (+1);
- negatives: personal and internal events (dentist, birthday, gym, standup, all-hands, webinar,
  flight... -8), social or routine ones (lunch, coffee, 1:1, sync, demo... -4), the user on the
  interviewer's side (a candidate in the title, an internal event of the user's own employer,
  interviewer kits and scorecards), practice (mock interviews: -8; prep/travel/to-do blocks: -6 alone,
  -3 with others), recurring instances (-2), crowds (-3), events longer than half a day (-2), and
  Google's special event types (birthday, focus time, out of office, working location, from Gmail).

Decisions on ambiguous cases: a mock interview, interview practice or prep session (also with a
friend or mentor) is not an interview: nothing happens at a company. An informational interview is.
A prep call *with the company's recruiter* usually scores as a recruiter interview (the company
side outweighs the prep word). Exit, stay, user, customer, press, podcast and research interviews are
not job interviews.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Literal

InterviewKind = Literal[
    "recruiter",
    "phone_screen",
    "technical",
    "coding",
    "system_design",
    "behavioral",
    "hiring_manager",
    "onsite",
    "panel",
    "take_home",
    "other",
]

THRESHOLD: Final = 5
# The opportunity link needs more than a passing mention of the company in the description.
MATCH_THRESHOLD: Final = 3
# Words are read in the first MAX_SCAN_CHARS of a description's text (tags removed), links in the first
# MAX_LINK_CHARS: invitations say what matters early (a video link's boilerplate may come after an
# agenda); long pasted agendas and legal footers only cost time.
MAX_SCAN_CHARS: Final = 2500
MAX_LINK_CHARS: Final = 5000


# ---- input -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    display_name: str = ""
    is_self: bool = False
    is_organizer: bool = False
    response_status: str | None = None
    is_resource: bool = False


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """The parts of a Google Calendar v3 event the classifier reads (and the sync engine may store)."""

    id: str
    status: str = "confirmed"
    summary: str = ""
    description: str = ""
    location: str = ""
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    attendees: tuple[Attendee, ...] = ()
    organizer_email: str | None = None
    organizer_is_self: bool = False
    has_conference: bool = False
    conference_url: str | None = None
    event_type: str = "default"
    recurring: bool = False

    @property
    def self_response_status(self) -> str | None:
        return next((a.response_status for a in self.attendees if a.is_self), None)

    @classmethod
    def from_google(cls, event: Mapping[str, Any]) -> CalendarEvent:
        """Parse an events.list/events.get resource; missing or malformed fields become defaults."""
        event = _mapping(event)  # a malformed item becomes an empty event, not an exception
        start, all_day = _parse_when(event.get("start"))
        end, _ = _parse_when(event.get("end"))
        organizer = _mapping(event.get("organizer"))
        attendees = []
        for raw in _list(event.get("attendees")):
            item = _mapping(raw)
            email = _text(item.get("email")).strip().lower()
            if not email:
                continue
            attendees.append(
                Attendee(
                    email=email,
                    display_name=_text(item.get("displayName")),
                    is_self=item.get("self") is True,
                    is_organizer=item.get("organizer") is True,
                    response_status=_text(item.get("responseStatus")) or None,
                    is_resource=item.get("resource") is True,
                )
            )
        description = _text(event.get("description"))
        location = _text(event.get("location"))
        conference_url = _conference_url(event, location, description)
        conference = _mapping(event.get("conferenceData"))
        return cls(
            id=_text(event.get("id")),
            status=_text(event.get("status")) or "confirmed",
            summary=_text(event.get("summary")),
            description=description,
            location=location,
            start=start,
            end=end,
            all_day=all_day,
            attendees=tuple(attendees),
            organizer_email=_text(organizer.get("email")).strip().lower() or None,
            organizer_is_self=organizer.get("self") is True,
            has_conference=conference_url is not None or bool(conference.get("conferenceId")),
            conference_url=conference_url,
            event_type=_text(event.get("eventType")) or "default",
            recurring=bool(event.get("recurringEventId")) or bool(_list(event.get("recurrence"))),
        )


@dataclass(frozen=True, slots=True)
class OpportunityHint:
    """What the classifier may know of one of the user's opportunities.

    `contact_emails`: emails of the contacts linked to it; `company_domains`: its company's email/web
    domains (`company_domains_for` derives them from the opportunity URL and the contacts). `role` only
    breaks ties between opportunities at the same company.
    """

    id: str
    company: str
    contact_emails: Sequence[str] = ()
    company_domains: Sequence[str] = ()
    role: str = ""


@dataclass(frozen=True, slots=True)
class Detection:
    score: int
    is_interview: bool
    opportunity_id: str | None
    kind: InterviewKind
    reasons: tuple[str, ...] = field(default=())


# ---- domains ---------------------------------------------------------------------------------------

FREE_MAIL: Final = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.de",
        "hotmail.fr", "hotmail.es", "hotmail.it", "live.com", "live.co.uk", "live.de", "live.fr", "msn.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it", "ymail.com",
        "rocketmail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com",
        "protonmail.ch", "pm.me", "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "web.de",
        "t-online.de", "freenet.de", "posteo.de", "mailbox.org", "mail.com", "email.com", "yandex.com",
        "yandex.ru", "mail.ru", "zoho.com", "zohomail.com", "fastmail.com", "fastmail.fm", "hey.com",
        "tutanota.com", "tuta.io", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net",
        "libero.it", "virgilio.it", "alice.it", "tiscali.it", "qq.com", "163.com", "126.com", "naver.com",
        "hanmail.net", "rediffmail.com", "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
        "bluewin.ch", "telenet.be", "skynet.be", "btinternet.com", "sky.com", "comcast.net",
        "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "shaw.ca", "rogers.com", "uol.com.br",
        "bol.com.br", "terra.com.br", "outlook.de", "outlook.fr", "outlook.es", "windowslive.com",
    }
)  # fmt: skip
# Calendars, rooms and Google's own generated calendars: never a company.
SYSTEM_DOMAINS: Final = frozenset(
    {
        "calendar.google.com", "group.calendar.google.com", "group.v.calendar.google.com",
        "resource.calendar.google.com", "import.calendar.google.com", "google.com",
    }
)  # fmt: skip
ATS_DOMAINS: Final = frozenset(
    {
        "greenhouse.io", "greenhouse-mail.io", "lever.co", "ashbyhq.com", "ashby.io", "goodtime.io",
        "workday.com", "myworkday.com", "myworkdayjobs.com", "smartrecruiters.com", "icims.com",
        "jobvite.com", "teamtailor.com", "teamtailor-mail.com", "personio.de", "personio.com",
        "recruitee.com", "breezy.hr", "bamboohr.com", "modernloop.io", "prelude.co", "gem.com",
        "workable.com", "workablemail.com", "paradox.ai", "successfactors.com", "successfactors.eu",
        "sapsf.com", "sapsf.eu", "taleo.net", "jazzhr.com", "applytojob.com", "pinpointhq.com",
        "homerun.co", "join.com", "comeet.co", "comeet.com", "fountain.com", "hirebridge.com",
        "recruiterbox.com", "zohorecruit.com", "dover.com", "rippling-ats.com", "trakstar.com",
        "jobylon.com", "softgarden.de", "softgarden.io", "dvinci.de", "d-vinci.de", "welcometothejungle.com",
        "factorial.co", "factorialhr.com", "manatal.com", "occupop.com", "hiringthing.com", "clockwork.com",
        "avature.net", "beamery.com", "eightfold.ai", "phenom.com", "oraclecloud.com", "bullhorn.com",
        "hirehive.com", "ripplehire.com", "freshteam.com", "talentlyft.com", "rexx-systems.com",
    }
)  # fmt: skip
SCHEDULER_DOMAINS: Final = frozenset(
    {
        "calendly.com", "cal.com", "savvycal.com", "youcanbook.me", "zcal.co", "tidycal.com",
        "doodle.com", "x.ai", "vyte.in", "koalendar.com", "appointlet.com", "acuityscheduling.com",
    }
)  # fmt: skip
INTERVIEW_TOOL_DOMAINS: Final = frozenset(
    {
        "coderpad.io", "hackerrank.com", "codesignal.com", "karat.com", "karat.io", "hirevue.com",
        "codility.com", "coderbyte.com", "byteboard.dev", "codeinterview.io", "devskiller.com",
        "testgorilla.com", "qualified.io", "brighthire.ai", "metaview.ai", "bryq.com", "glider.ai",
        "hackerearth.com", "mettl.com", "woven.com", "woventeams.com", "canditech.io", "evalart.com",
    }
)  # fmt: skip
# Peer practice platforms: an interview there is practice.
PRACTICE_DOMAINS: Final = frozenset({"pramp.com", "interviewing.io", "exponent.com", "tryexponent.com"})
CONFERENCE_HOSTS: Final = frozenset(
    {
        "zoom.us", "zoomgov.com", "meet.google.com", "teams.microsoft.com", "teams.live.com", "webex.com",
        "whereby.com", "gotomeeting.com", "goto.com", "bluejeans.com", "chime.aws", "around.co",
        "skype.com", "meet.jit.si", "8x8.vc", "ringcentral.com", "lifesize.com", "meet.ringcentral.com",
        "gather.town", "livestorm.co", "zoho.com",
    }
)  # fmt: skip
# Job boards and ATS hosts: an opportunity URL on one of them says nothing of the company's domain.
JOB_BOARD_DOMAINS: Final = (
    frozenset(
        {
            "linkedin.com", "indeed.com", "glassdoor.com", "glassdoor.co.uk", "stepstone.de", "xing.com",
            "monster.com", "ziprecruiter.com", "wellfound.com", "angel.co", "ycombinator.com",
            "workatastartup.com", "otta.com", "welcometothejungle.co", "hired.com", "dice.com",
            "builtin.com", "simplyhired.com", "remoteok.com", "weworkremotely.com", "news.ycombinator.com",
            "google.com", "careerbuilder.com", "seek.com.au", "naukri.com", "infojobs.net", "jobs.ch",
            "totaljobs.com", "reed.co.uk", "cwjobs.co.uk", "arbeitnow.com", "jobteaser.com", "hellowork.com",
            "apec.fr", "jobs.lu", "bit.ly", "lnkd.in",
        }
    )
    | ATS_DOMAINS
    | SCHEDULER_DOMAINS
)  # fmt: skip
_NOT_COMPANY: Final = FREE_MAIL | SYSTEM_DOMAINS
_SECOND_LEVEL: Final = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "gob", "nic"})


def registrable_domain(host: str) -> str:
    """acme.com for eng.acme.com, acme.co.uk for mail.acme.co.uk (no public suffix list: an approximation)."""
    labels = [label for label in host.strip().strip(".").lower().split(".") if label]
    if len(labels) <= 2:
        return ".".join(labels)
    if len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def _in_set(host: str, domains: frozenset[str]) -> str | None:
    """The member of `domains` that `host` is or is a subdomain of."""
    candidate = host
    while candidate:
        if candidate in domains:
            return candidate
        _, dot, rest = candidate.partition(".")
        candidate = rest if dot else ""
    return None


def is_company_domain(domain: str) -> bool:
    domain = domain.lower()
    return bool(domain) and "." in domain and _in_set(domain, _NOT_COMPANY) is None


def company_domains_for(url: str | None, contact_emails: Iterable[str]) -> list[str]:
    """Company domains of an opportunity: its contacts' email domains and its URL's, minus free mail,
    job boards, ATS and scheduling hosts."""
    found: list[str] = []
    hosts = [_domain_of(email) for email in contact_emails if "@" in email]
    if url:
        hosts.extend(host for _, _, host in url_hosts(url if "://" in url else "https://" + url))
    for host in hosts:
        domain = registrable_domain(host)
        if (
            is_company_domain(domain)
            and _in_set(domain, JOB_BOARD_DOMAINS) is None
            and _in_set(host, JOB_BOARD_DOMAINS) is None
            and domain not in found
        ):
            found.append(domain)
    return found


# ---- text ------------------------------------------------------------------------------------------

# After "://": optional user info, then the host. URLs are found by str.find("://"): a case-insensitive
# regex over a long description costs ten times more here.
_AFTER_SCHEME: Final = re.compile(r"(?:[^/\s\"'<>@]*@)?([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])")
_WORD: Final = re.compile(r"[^\W_]+")
# ASCII text: lower-case letters and digits stay, every other byte becomes a space (bytes.translate).
_ASCII_WORDS: Final = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256)
)
# Punctuation left after accents are stripped: separators, so most European text takes the ASCII path.
_UNICODE_SEPARATORS: Final = str.maketrans(
    dict.fromkeys("\u2013\u2014\u2012\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u2022"
                  "\u2026\u00b7\u20ac\u00a3\u00a5\u00a9\u00ae\u2122\u00b0\u2192\u2190\u00a0\u202f"
                  "\u2009\u200b\u00bf\u00a1\u00a7\u00b6\u2010\u2011\u2032\u2033", " ")
)  # fmt: skip


def url_hosts(text: str) -> list[tuple[int, int, str]]:
    """(start, end of host, lower-case host) of every http(s) URL in `text`."""
    found = []
    mark = text.find("://")
    while mark != -1:
        if mark >= 4 and text[mark - 4 : mark].lower() == "http":
            start = mark - 4
        elif mark >= 5 and text[mark - 5 : mark].lower() == "https":
            start = mark - 5
        else:
            start = -1
        if start >= 0:
            match = _AFTER_SCHEME.match(text, mark + 3)
            if match:
                found.append((start, match.end(), match.group(1).lower()))
        mark = text.find("://", mark + 3)
    return found


_COMBINING: Final = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_TAG: Final = re.compile(r"<[^>]{0,300}>")
_EXTRA_LETTERS: Final = str.maketrans(
    {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae", "Æ": "ae", "œ": "oe",
     "Œ": "oe", "\u0131": "i", "þ": "th", "ð": "d"}
)  # fmt: skip


def fold(text: str) -> str:
    """Casefolded, accents stripped, every run of non-letters one space, padded with a space each side."""
    joined = " ".join(words(text))
    return f" {joined} " if joined else " "


def words(text: str) -> list[str]:
    """The casefolded, accent-free words of `text` ("Zürich-Analytik" -> ["zurich", "analytik"])."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_EXTRA_LETTERS)))
        text = text.casefold().translate(_UNICODE_SEPARATORS)
        if not text.isascii():
            return _WORD.findall(text)
    return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()


_LEGAL_SUFFIXES: Final = frozenset(
    {
        "inc", "llc", "ltd", "limited", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "plc", "corp",
        "corporation", "co", "company", "se", "srl", "spa", "oy", "ab", "as", "kg", "ug", "pty", "pte",
        "lp", "llp", "kft", "sro", "aps", "group", "holding", "holdings",
    }
)  # fmt: skip


def company_key(company: str) -> str:
    """The folded company name without legal suffixes ("Crédit Lumière SA" -> "credit lumiere")."""
    parts = words(company)
    while len(parts) > 1 and parts[-1] in _LEGAL_SUFFIXES:
        parts.pop()
    return " ".join(parts)


# ---- keywords --------------------------------------------------------------------------------------
# (phrase, points, kind, rule). Phrases are folded like the text; the longest phrase starting at a
# position wins, so "mock interview" never also counts as "interview".

Strength = Literal["strong", "medium", "neg", "weak_neg", "block"]
_K = tuple[str, Strength, InterviewKind | None]

_POSITIVE: Final[tuple[_K, ...]] = (
    # English
    ("interview", "strong", None),
    ("interviews", "strong", None),
    ("job interview", "strong", None),
    ("interviewing with", "strong", None),
    ("interviewing at", "strong", None),
    ("interviewing for", "strong", None),
    ("interview loop", "strong", "onsite"),
    ("informational interview", "strong", "other"),
    ("phone interview", "strong", "phone_screen"),
    ("telephone interview", "strong", "phone_screen"),
    ("video interview", "strong", None),
    ("phone screen", "strong", "phone_screen"),
    ("phone screening", "strong", "phone_screen"),
    ("phone call screen", "strong", "phone_screen"),
    ("video screen", "strong", "phone_screen"),
    ("initial screen", "strong", "phone_screen"),
    ("screening call", "strong", "phone_screen"),
    ("screening interview", "strong", "phone_screen"),
    ("recruiter screen", "strong", "recruiter"),
    ("recruiter call", "strong", "recruiter"),
    ("recruiter chat", "strong", "recruiter"),
    ("recruiter interview", "strong", "recruiter"),
    ("recruiter conversation", "strong", "recruiter"),
    ("recruiter intro", "strong", "recruiter"),
    ("recruiting call", "strong", "recruiter"),
    ("talent call", "strong", "recruiter"),
    ("talent acquisition", "medium", "recruiter"),
    ("hr interview", "strong", "recruiter"),
    ("hr screen", "strong", "recruiter"),
    ("hr call", "strong", "recruiter"),
    ("technical interview", "strong", "technical"),
    ("technical screen", "strong", "technical"),
    ("technical screening", "strong", "technical"),
    ("technical phone screen", "strong", "technical"),
    ("tech screen", "strong", "technical"),
    ("tech interview", "strong", "technical"),
    ("technical round", "strong", "technical"),
    ("technical assessment", "strong", "technical"),
    ("technical deep dive", "strong", "technical"),
    ("technical", "medium", "technical"),
    ("coding interview", "strong", "coding"),
    ("live coding", "strong", "coding"),
    ("coding round", "strong", "coding"),
    ("coding exercise", "medium", "coding"),
    ("coding challenge", "medium", "coding"),
    ("pair programming interview", "strong", "coding"),
    ("pairing interview", "strong", "coding"),
    ("pair programming", "medium", "coding"),
    ("coding", "medium", "coding"),
    ("algorithms", "medium", "coding"),
    ("system design", "medium", "system_design"),
    ("system design interview", "strong", "system_design"),
    ("systems design", "medium", "system_design"),
    ("architecture interview", "strong", "system_design"),
    ("behavioral", "medium", "behavioral"),
    ("behavioural", "medium", "behavioral"),
    ("behavioral interview", "strong", "behavioral"),
    ("behavioural interview", "strong", "behavioral"),
    ("culture fit", "medium", "behavioral"),
    ("culture interview", "strong", "behavioral"),
    ("values interview", "strong", "behavioral"),
    ("culture add", "medium", "behavioral"),
    ("leadership principles", "medium", "behavioral"),
    ("bar raiser", "strong", "behavioral"),
    ("hiring manager", "strong", "hiring_manager"),
    ("hiring manager interview", "strong", "hiring_manager"),
    ("hm interview", "strong", "hiring_manager"),
    ("hm screen", "strong", "hiring_manager"),
    ("hm call", "strong", "hiring_manager"),
    ("onsite", "strong", "onsite"),
    ("on site interview", "strong", "onsite"),
    ("onsite interview", "strong", "onsite"),
    ("virtual onsite", "strong", "onsite"),
    ("final round", "strong", "onsite"),
    ("final interview", "strong", "onsite"),
    ("superday", "strong", "onsite"),
    ("super day", "strong", "onsite"),
    ("assessment center", "strong", "onsite"),
    ("assessment centre", "strong", "onsite"),
    ("panel interview", "strong", "panel"),
    ("panel", "medium", "panel"),
    ("take home", "medium", "take_home"),
    ("takehome", "medium", "take_home"),
    ("take home review", "strong", "take_home"),
    ("take home debrief", "strong", "take_home"),
    ("take home presentation", "strong", "take_home"),
    ("take home discussion", "strong", "take_home"),
    ("take home walkthrough", "strong", "take_home"),
    ("home assignment", "medium", "take_home"),
    ("assignment review", "strong", "take_home"),
    ("case study", "medium", "take_home"),
    ("case interview", "strong", "technical"),
    ("portfolio review", "strong", "other"),
    ("portfolio presentation", "strong", "other"),
    ("recruiter", "medium", "recruiter"),
    ("recruiting", "medium", "recruiter"),
    ("intro call", "medium", "recruiter"),
    ("introductory call", "medium", "recruiter"),
    ("intro chat", "medium", "recruiter"),
    ("initial call", "medium", "recruiter"),
    ("initial conversation", "medium", "recruiter"),
    ("first round", "medium", None),
    ("second round", "medium", None),
    ("third round", "medium", None),
    ("next round", "medium", None),
    ("round 1", "medium", None),
    ("round 2", "medium", None),
    ("round 3", "medium", None),
    ("1st round", "medium", None),
    ("2nd round", "medium", None),
    ("3rd round", "medium", None),
    ("meet the team", "medium", "other"),
    ("team fit", "medium", "behavioral"),
    ("team match", "medium", "hiring_manager"),
    ("interviewer", "medium", None),
    ("interviewers", "medium", None),
    ("screen", "medium", "phone_screen"),
    ("screening", "medium", "phone_screen"),
    ("assessment", "medium", None),
    ("application", "medium", None),
    ("candidacy", "medium", None),
    # German
    ("vorstellungsgesprach", "strong", None),
    ("bewerbungsgesprach", "strong", None),
    ("telefoninterview", "strong", "phone_screen"),
    ("videointerview", "strong", None),
    ("fachinterview", "strong", "technical"),
    ("fachgesprach", "strong", "technical"),
    ("technisches interview", "strong", "technical"),
    ("technisches gesprach", "strong", "technical"),
    ("kennenlerngesprach", "medium", "recruiter"),
    ("erstgesprach", "medium", "recruiter"),
    ("zweitgesprach", "medium", None),
    ("probearbeiten", "strong", "onsite"),
    ("probetag", "strong", "onsite"),
    ("bewerbung", "medium", None),
    # French
    ("entretien", "medium", None),
    ("entretien d embauche", "strong", None),
    ("entretien de recrutement", "strong", None),
    ("entretien rh", "strong", "recruiter"),
    ("entretien technique", "strong", "technical"),
    ("entretien telephonique", "strong", "phone_screen"),
    ("entretien final", "strong", "onsite"),
    ("entretien manager", "strong", "hiring_manager"),
    ("entretien avec le manager", "strong", "hiring_manager"),
    ("entrevue", "strong", None),
    ("recrutement", "medium", "recruiter"),
    ("candidature", "medium", None),
    # Spanish / Portuguese / Italian / Dutch
    ("entrevista", "strong", None),
    ("entrevista tecnica", "strong", "technical"),
    ("entrevista telefonica", "strong", "phone_screen"),
    ("entrevista final", "strong", "onsite"),
    ("entrevista con rrhh", "strong", "recruiter"),
    ("reclutador", "medium", "recruiter"),
    ("reclutadora", "medium", "recruiter"),
    ("recrutador", "medium", "recruiter"),
    ("recrutadora", "medium", "recruiter"),
    ("proceso de seleccion", "medium", None),
    ("processo seletivo", "medium", None),
    ("colloquio", "strong", None),
    ("colloquio tecnico", "strong", "technical"),
    ("colloquio di lavoro", "strong", None),
    ("sollicitatiegesprek", "strong", None),
    ("kennismakingsgesprek", "medium", "recruiter"),
)

_NEGATIVE: Final[tuple[_K, ...]] = (
    # personal life
    *(
        (word, "neg", None)
        for word in (
            "dentist", "dental", "doctor", "doctors", "gp appointment", "physio", "physiotherapy",
            "therapy", "therapist", "dermatologist", "orthodontist", "optometrist", "eye exam",
            "vet", "veterinarian", "haircut", "hairdresser", "barber", "massage", "checkup", "check up",
            "vaccination", "blood test", "birthday", "bday", "anniversary", "wedding", "funeral",
            "baby shower", "gym", "workout", "yoga", "pilates", "crossfit", "spin class", "swim",
            "tennis", "climbing", "run club", "parent teacher", "daycare", "school pickup", "pick up kids",
            "piano lesson", "concert", "movie", "date night", "vacation", "holiday", "out of office", "ooo",
            "pto", "focus time", "do not book", "no meetings",
            # German, French, Spanish
            "zahnarzt", "arzt", "arzttermin", "hausarzt", "geburtstag", "friseur", "frisor", "urlaub",
            "dentiste", "medecin", "anniversaire", "coiffeur", "kine", "vacances", "dentista", "medico",
            "cumpleanos", "gimnasio", "peluqueria", "vacaciones", "aniversario",
        )
    ),
    # the user's own job: rituals and company events
    *(
        (word, "neg", None)
        for word in (
            "standup", "stand up", "daily scrum", "scrum", "sprint", "sprint planning", "sprint review",
            "retro", "retrospective", "backlog", "grooming", "refinement", "all hands", "allhands",
            "town hall", "townhall", "quarterly planning", "okr", "okrs", "board meeting", "on call handover",
            "incident review", "postmortem", "post mortem", "performance review", "perf review",
            "mitarbeitergesprach", "jahresgesprach", "entretien annuel", "entretien individuel",
            "entretien professionnel",
        )
    ),
    # talks, media, events
    *(
        (word, "neg", None)
        for word in (
            "webinar", "webinaire", "tech talk", "lightning talk", "meetup", "conference", "summit",
            "keynote", "livestream", "live stream", "podcast", "radio", "tv", "television", "news",
            "press", "journalist", "panel discussion", "fireside chat", "career fair", "job fair",
            "hackathon", "info session", "information session", "open house",
        )
    ),
    # travel
    *(
        (word, "neg", None)
        for word in ("flight", "boarding", "airport", "layover", "hotel", "check in hotel", "train to")
    ),
    # interviews that are not the user's job interviews
    *(
        (word, "neg", None)
        for word in (
            "mock interview", "mock interviews", "practice interview", "interview practice",
            "mock", "exit interview", "stay interview", "user interview", "user interviews",
            "customer interview", "customer interviews", "research interview", "discovery interview",
            "user research", "usability", "usability test", "interviewer training", "interview training",
            "hiring committee", "hiring sync", "calibration", "news interview", "press interview",
            "media interview", "tv interview", "radio interview", "podcast interview",
            "health screening", "cancer screening", "film screening", "movie screening",
            "screening of", "entretien voiture", "entretien chaudiere", "entretien vehicule",
        )
    ),
    # social and routine: these lower but do not rule out
    *(
        (word, "weak_neg", None)
        for word in (
            "lunch", "dinner", "coffee", "drinks", "happy hour", "breakfast", "brunch", "beers",
            "1 1", "1on1", "one on one", "sync", "weekly", "demo", "workshop", "training",
            "onboarding", "offsite", "team building", "party", "catch up", "catchup", "office hours",
            "planning", "design review", "code review", "networking", "q a", "ama", "mentor", "mentoring",
            "mentorship", "coach", "coaching", "career coach", "kickoff", "kick off", "qbr", "renewal",
            "invoice", "interview debrief", "candidate", "candidates", "kandidat", "kandidatin",
            "candidat", "candidato", "candidata", "bewerber", "bewerberin",
        )
    ),
    # personal to-do blocks: prep, practice, travel to, follow-up
    *(
        (word, "block", None)
        for word in (
            "prep", "prepare", "preparation", "preparing", "practice", "rehearse", "rehearsal", "study",
            "leetcode", "research", "review notes", "follow up", "thank you note", "thank you notes",
            "thank you email", "send", "apply", "apply to", "submit", "deadline", "work on", "finish",
            "travel", "travel to", "drive", "drive to", "commute", "uber", "taxi", "leave for", "head to",
            "reminder", "todo", "vorbereitung", "vorbereiten", "preparer", "preparacion",
            "preparar", "preparacao",
        )
    ),
)  # fmt: skip

_CANDIDATE_WORDS: Final = frozenset(
    {"candidate", "candidates", "kandidat", "kandidatin", "candidat", "candidato", "candidata", "bewerber",
     "bewerberin"}
)  # fmt: skip
# Words that say the user sits on the interviewer's side when they appear in a description.
_INTERVIEWER_DESC: Final = (
    "scorecard", "interview kit", "submit feedback", "submit your feedback", "feedback form",
    "candidate profile", "candidate s resume", "candidate resume", "interviewer guide",
    "leave feedback", "interview plan for", "hire no hire",
)  # fmt: skip
_DESC_NEGATIVE: Final = ("webinar", "podcast", "livestream", "unsubscribe", "episode", "register")
_RECRUITER_LOCAL: Final = frozenset(
    {
        "recruiting", "recruiter", "recruitment", "recruit", "talent", "talentacquisition", "careers",
        "career", "jobs", "hiring", "hr", "interviews", "interview", "scheduling", "recrutement", "rh",
        "reclutamiento", "recrutamento", "rrhh", "talento", "selecao", "seleccion", "bewerbung", "karriere",
        "personal", "ta", "sourcing", "people",
    }
)  # fmt: skip
_MAILBOX_WORDS: Final = frozenset(
    {"no", "noreply", "reply", "do", "not", "team", "info", "acquisition", "ops"}
)
_RECRUITER_NAME: Final = re.compile(
    r" (?:recruit\w*|talent|sourcer|sourcing|hiring|ta partner|people partner|interview \w*|"
    r"recrut\w*|reclut\w*|personalabteilung|hr)(?= )"
)
_MEETING_WORDS: Final = frozenset(
    {"chat", "call", "conversation", "meeting", "talk", "intro", "meet", "gesprach", "echange", "llamada"}
)
# "Interviewing with Acme" is the candidate's phrase; "Interviewing Jane Doe" the interviewer's.
_INTERVIEWING_OK: Final = frozenset(
    {"with", "at", "for", "bei", "chez", "con", "en", "avec", "in", "to", "process"}
)
_LOCAL_SPLIT: Final = re.compile(r"[._+\-]+")
_ONE_ON_ONE: Final = re.compile(r"(?<![\w:])1\s*(?::|on|x|-|/)\s*1(?![\w:])", re.IGNORECASE)
_STREET: Final = re.compile(
    r"\d|\b(?:street|st|avenue|ave|road|rd|boulevard|blvd|floor|suite|strasse|str|platz|weg|rue|calle|"
    r"via|plaza|building|office|hq|headquarters|campus)\b",
    re.IGNORECASE,
)
_DAY: Final = timedelta(days=1)
_HALF_DAY: Final = timedelta(hours=12)
_SHORT_CALL: Final = timedelta(minutes=30)
_SPECIAL_EVENT_TYPES: Final = frozenset(
    {"birthday", "focusTime", "outOfOffice", "workingLocation", "fromGmail"}
)

_KIND_ORDER: Final[tuple[InterviewKind, ...]] = (
    "take_home",
    "system_design",
    "coding",
    "behavioral",
    "hiring_manager",
    "technical",
    "panel",
    "onsite",
    "recruiter",
    "phone_screen",
    "other",
)

_Words = tuple[str, ...]
_Table = Mapping[str, tuple[tuple[_Words, Any], ...]]


def _by_first_word(items: Iterable[tuple[_Words, Any]]) -> dict[str, tuple[tuple[_Words, Any], ...]]:
    """Phrases grouped by their first word, longest first: one dict lookup per token of text."""
    table: dict[str, list[tuple[_Words, Any]]] = {}
    for phrase, value in items:
        if phrase:
            table.setdefault(phrase[0], []).append((phrase, value))
    return {first: tuple(sorted(group, key=lambda item: -len(item[0]))) for first, group in table.items()}


_ENTRIES: Final[dict[str, _K]] = {entry[0]: entry for entry in (*_POSITIVE, *_NEGATIVE)}
_KEYWORDS: Final = _by_first_word((tuple(phrase.split()), entry) for phrase, entry in _ENTRIES.items())
_BODY_MARKERS: Final = _by_first_word(
    [(tuple(phrase.split()), "body_negative") for phrase in _DESC_NEGATIVE]
    + [(tuple(phrase.split()), "interviewer_description") for phrase in _INTERVIEWER_DESC]
)


def _scan(
    tokens: list[str], present: set[str], table: _Table, skip: frozenset[int] = frozenset()
) -> list[tuple[int, int, Any]]:
    """Leftmost-longest, non-overlapping phrase matches as (start, end, value), avoiding `skip` positions.

    `present` is set(tokens): only the positions of words that start a phrase are visited.
    """
    starts = table.keys() & present
    if not starts:
        return []
    found = []
    count = len(tokens)
    free = 0  # matches do not overlap: the next one starts here or later
    for position in [i for i, token in enumerate(tokens) if token in starts]:
        if position < free or position in skip:
            continue
        for phrase, value in table[tokens[position]]:
            end = position + len(phrase)
            if end > count:
                continue
            # Second word first: it rejects almost every candidate without building a slice.
            if end > position + 1 and (
                tokens[position + 1] != phrase[1]
                or (end > position + 2 and tokens[position + 2 : end] != list(phrase[2:]))
            ):
                continue
            if skip and not skip.isdisjoint(range(position, end)):
                continue
            found.append((position, end, value))
            free = end
            break
    return found


POINTS: Final[dict[str, int]] = {
    "title_strong": 5,
    "title_medium": 2,
    "body_strong": 2,
    "body_medium": 1,
    "contact": 4,
    "company_domain": 3,
    "company_in_title": 3,
    "company_in_body": 1,
    "company_chat": 1,
    "ats": 3,
    "interview_tool": 3,
    "scheduler": 2,
    "recruiter_attendee": 2,
    "conference": 1,
    "external": 1,
    "title_negative": -8,
    "title_weak_negative": -4,
    "block_alone": -6,
    "block_with_others": -3,
    "candidate_in_title": -5,
    "interviewer_phrase": -4,
    "internal_event": -6,
    "interviewer_description": -5,
    "body_negative": -2,
    "practice_platform": -6,
    "special_event_type": -10,
    "recurring": -2,
    "crowd": -3,
    "long": -2,
}


# ---- opportunities ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityIndex:
    """The user's opportunities prepared for many `classify` calls (build once per sync)."""

    hints: tuple[OpportunityHint, ...]
    by_contact: Mapping[str, tuple[int, ...]]
    by_domain: Mapping[str, tuple[int, ...]]
    by_compact_name: Mapping[str, tuple[int, ...]]
    names: _Table  # first word -> ((name words, hint positions), ...)
    roles: tuple[frozenset[str], ...]


_ROLE_STOP: Final = frozenset(
    {"and", "of", "the", "for", "in", "at", "a", "an", "to", "m", "w", "d", "f", "x"}
)


def index_opportunities(hints: Iterable[OpportunityHint]) -> OpportunityIndex:
    """Index hints by contact email, domain and folded company name; ties later go to the earlier hint."""
    ordered = tuple(hints)
    by_contact: dict[str, list[int]] = {}
    by_domain: dict[str, list[int]] = {}
    by_compact: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    roles = []
    for position, hint in enumerate(ordered):
        for email in hint.contact_emails:
            email = email.strip().lower()
            if "@" in email:
                by_contact.setdefault(email, []).append(position)
        for domain in hint.company_domains:
            domain = registrable_domain(domain.strip().lower().removeprefix("www."))
            if is_company_domain(domain) and position not in by_domain.get(domain, ()):
                by_domain.setdefault(domain, []).append(position)
        key = company_key(hint.company)
        # One letter is too little to find in a title ("Acme x Alex" is not the company X).
        if len(key) >= 2:
            by_name.setdefault(key, []).append(position)
            compact = key.replace(" ", "")
            if len(compact) >= 3:
                by_compact.setdefault(compact, []).append(position)
        roles.append(frozenset(words(hint.role)) - _ROLE_STOP)
    names = _by_first_word((tuple(name.split()), tuple(positions)) for name, positions in by_name.items())

    def freeze(table: dict[str, list[int]]) -> dict[str, tuple[int, ...]]:
        return {key: tuple(value) for key, value in table.items()}

    return OpportunityIndex(
        hints=ordered,
        by_contact=freeze(by_contact),
        by_domain=freeze(by_domain),
        by_compact_name=freeze(by_compact),
        names=names,
        roles=tuple(roles),
    )


# ---- classification --------------------------------------------------------------------------------


def classify(
    event: CalendarEvent,
    opportunities: OpportunityIndex | Sequence[OpportunityHint],
    *,
    user_email: str | None,
) -> Detection:
    """Score one event; `opportunities` is best an `index_opportunities` result reused across events."""
    index = (
        opportunities if isinstance(opportunities, OpportunityIndex) else index_opportunities(opportunities)
    )
    points: dict[str, int] = {}
    reasons: list[str] = []

    def add(rule: str, detail: str = "") -> None:
        if rule not in points:
            points[rule] = POINTS[rule]
            reasons.append(f"{rule}:{detail}({POINTS[rule]:+d})" if detail else f"{rule}({POINTS[rule]:+d})")

    title = words(event.summary)
    raw_body = event.description[:MAX_LINK_CHARS]
    location = event.location[:500]
    text = _TAG.sub(" ", raw_body) if "<" in raw_body else raw_body
    body = words(text[:MAX_SCAN_CHARS] + " \n " + location)

    # Company names first: keywords are read outside them ("Interview at Hotel Tonight" is no hotel).
    title_words, body_words = set(title), set(body)
    title_names = _scan(title, title_words, index.names)
    body_names = _scan(body, body_words, index.names)
    title_skip = _covered(title_names)
    body_skip = _covered(body_names)

    kinds_title: list[InterviewKind] = []
    blocks: list[str] = []
    for _, _, (phrase, strength, kind) in _scan(title, title_words, _KEYWORDS, title_skip):
        if strength == "strong":
            add("title_strong", phrase)
        elif strength == "medium":
            add("title_medium", phrase)
        elif strength == "neg":
            add("title_negative", phrase)
        elif strength == "weak_neg":
            add("candidate_in_title" if phrase in _CANDIDATE_WORDS else "title_weak_negative", phrase)
        else:
            blocks.append(phrase)
        if kind is not None:
            kinds_title.append(kind)
    if "1" in event.summary and _ONE_ON_ONE.search(event.summary):
        add("title_weak_negative", "1:1")
    if "interviewing" in title_words:
        for position, word in enumerate(title[:-1]):
            if word == "interviewing" and title[position + 1] not in _INTERVIEWING_OK:
                add("interviewer_phrase", "interviewing <someone>")
    kinds_body: list[InterviewKind] = []
    for _, _, (phrase, strength, kind) in _scan(body, body_words, _KEYWORDS, body_skip):
        if strength == "strong":
            add("body_strong", phrase)
        elif strength == "medium":
            add("body_medium", phrase)
        else:
            continue
        if kind is not None:
            kinds_body.append(kind)
    for _, _, rule in _scan(body, body_words, _BODY_MARKERS):
        add(rule)

    # People and their domains
    user = user_email.lower() if user_email else None
    own_domain = _own_domain(event, user)
    others = [a for a in event.attendees if not a.is_self and not a.is_resource and a.email != user]
    organizer = event.organizer_email
    organizer_is_user = event.organizer_is_self or (organizer is not None and organizer == user)
    people = {a.email: _address(a.email) for a in others}
    if organizer and not organizer_is_user:
        people[organizer] = _address(organizer)
    addresses = list(people.items())
    linked = raw_body + " " + location
    hosts = [_host(host) for _, _, host in url_hosts(linked)]
    if event.conference_url:
        hosts.extend(_host(host) for _, _, host in url_hosts(event.conference_url))
    for fact in [a.host for _, a in addresses] + hosts:
        if fact.ats:
            add("ats", fact.ats)
        if fact.tool:
            add("interview_tool", fact.tool)
        if fact.scheduler:
            add("scheduler", fact.scheduler)
        if fact.practice:
            add("practice_platform")
    if event.has_conference or any(f.conference for f in hosts):
        add("conference")
    if any(address.recruiter for _, address in addresses) or any(
        _recruiter_name(a.display_name) for a in others if a.display_name
    ):
        add("recruiter_attendee")
    if any(a.company and a.registrable != own_domain for _, a in addresses):
        add("external")
    internal = (
        own_domain is not None
        and bool(others)
        and (organizer_is_user or (organizer is not None and people[organizer].registrable == own_domain))
        and all(people[a.email].registrable == own_domain for a in others)
    )

    # Opportunities
    best, match_rules = _match(index, title_names, body_names, addresses, title_words, body_words)
    for rule in match_rules:
        add(rule)
    if "company_in_title" in points and not _MEETING_WORDS.isdisjoint(title_words):
        add("company_chat")
    # The employer's own address can be an opportunity's (an internal move): then it is not internal.
    if internal and "contact" not in points and "company_domain" not in points:
        add("internal_event")

    # Context
    if blocks:
        add("block_alone" if not others else "block_with_others", blocks[0])
    if event.event_type in _SPECIAL_EVENT_TYPES:
        add("special_event_type", event.event_type)
    if event.recurring:
        add("recurring")
    if len(others) > 15:
        add("crowd")
    duration = _duration(event)
    if duration > (_DAY if event.all_day else _HALF_DAY):
        add("long")

    score = sum(points.values())
    cancelled = event.status == "cancelled"
    if cancelled:
        reasons.append("status_cancelled")
    counterparts = len(people)
    kind = _kind(kinds_title, kinds_body, points, event, others, counterparts, duration)
    return Detection(
        score=score,
        is_interview=score >= THRESHOLD and not cancelled,
        opportunity_id=best,
        kind=kind,
        reasons=tuple(reasons),
    )


def clear_caches() -> None:
    """Forget the addresses and names seen so far (kept in memory only; call between users if wanted)."""
    _address.cache_clear()
    _host.cache_clear()
    _recruiter_name.cache_clear()


def _covered(matches: list[tuple[int, int, Any]]) -> frozenset[int]:
    return frozenset(i for start, end, _ in matches for i in range(start, end)) if matches else _NOTHING


_NOTHING: Final[frozenset[int]] = frozenset()


@dataclass(frozen=True, slots=True)
class _Host:
    ats: str | None
    tool: str | None
    scheduler: str | None
    practice: bool
    conference: bool


@dataclass(frozen=True, slots=True)
class _Address:
    registrable: str
    employer: bool  # an organisation's domain: not free mail or a calendar system
    company: bool  # ... and not an ATS or a scheduler either
    label: str  # "acme" of acme.co.uk: compared with compact company names
    recruiter: bool
    mailbox: bool
    host: _Host


@lru_cache(maxsize=4096)
def _host(host: str) -> _Host:
    return _Host(
        ats=_in_set(host, ATS_DOMAINS),
        tool=_in_set(host, INTERVIEW_TOOL_DOMAINS),
        scheduler=_in_set(host, SCHEDULER_DOMAINS),
        practice=_in_set(host, PRACTICE_DOMAINS) is not None,
        conference=_in_set(host, CONFERENCE_HOSTS) is not None,
    )


@lru_cache(maxsize=16384)
def _address(email: str) -> _Address:
    """What an email address says (cached: the same people recur across a calendar's events)."""
    domain = _domain_of(email)
    registrable = registrable_domain(domain)
    host = _host(domain)
    employer = is_company_domain(registrable)
    company = employer and host.ats is None and host.scheduler is None
    parts = [part for part in _LOCAL_SPLIT.split(email.partition("@")[0].lower()) if part]
    return _Address(
        registrable=registrable,
        employer=employer,
        company=company,
        label=registrable.split(".", 1)[0].replace("-", "") if company else "",
        recruiter=any(part in _RECRUITER_LOCAL for part in parts),
        mailbox=bool(parts) and all(part in _RECRUITER_LOCAL or part in _MAILBOX_WORDS for part in parts),
        host=host,
    )


@lru_cache(maxsize=4096)
def _recruiter_name(display_name: str) -> bool:
    return bool(display_name) and _RECRUITER_NAME.search(fold(display_name)) is not None


def _match(
    index: OpportunityIndex,
    title_names: list[tuple[int, int, Any]],
    body_names: list[tuple[int, int, Any]],
    addresses: list[tuple[str, _Address]],
    title_words: set[str],
    body_words: set[str],
) -> tuple[str | None, list[str]]:
    """The best opportunity (or None) and the opportunity rules that fired for it."""
    if not index.hints:
        return None, []
    fired: dict[int, list[str]] = {}

    def credit(positions: Iterable[int], rule: str) -> None:
        for position in positions:
            rules = fired.setdefault(position, [])
            if rule not in rules:
                rules.append(rule)

    for email, address in addresses:
        credit(index.by_contact.get(email, ()), "contact")
        if address.company:
            credit(index.by_domain.get(address.registrable, ()), "company_domain")
            credit(index.by_compact_name.get(address.label, ()), "company_domain")
    for _, _, positions in title_names:
        credit(positions, "company_in_title")
    for _, _, positions in body_names:
        credit(positions, "company_in_body")
    if not fired:
        return None, []
    scores = {}
    for position, rules in fired.items():
        if "company_in_title" in rules and "company_in_body" in rules:
            rules.remove("company_in_body")
        scores[position] = sum(POINTS[rule] for rule in rules)
    top = max(scores.values())
    if top < MATCH_THRESHOLD:
        return None, []
    leaders = sorted(p for p in scores if scores[p] == top)
    if len(leaders) > 1:
        # Two roles at one company: the one whose role words the event uses; else the earlier hint.
        words = title_words | body_words
        leaders.sort(key=lambda p: -len(index.roles[p] & words))
    winner = leaders[0]
    return index.hints[winner].id, fired[winner]


def _kind(
    kinds_title: list[InterviewKind],
    kinds_body: list[InterviewKind],
    points: Mapping[str, int],
    event: CalendarEvent,
    others: Sequence[Attendee],
    counterparts: int,
    duration: timedelta,
) -> InterviewKind:
    for kinds in (kinds_title, kinds_body):
        if kinds:
            present = set(kinds)
            return next(kind for kind in _KIND_ORDER if kind in present)
    if "interview_tool" in points:
        return "coding"
    # A recruiter in person says "recruiter call"; a careers@/hr@ mailbox only scheduled the interview.
    if any(
        (_address(a.email).recruiter or _recruiter_name(a.display_name)) and not _address(a.email).mailbox
        for a in others
    ):
        return "recruiter"
    if (
        event.location
        and not event.has_conference
        and "://" not in event.location
        and _STREET.search(event.location)
    ):
        return "onsite"
    if counterparts == 1 and timedelta(0) < duration <= _SHORT_CALL:
        # A short call with one person from the company and nothing more said: the usual recruiter call.
        return "recruiter"
    return "other"


def _duration(event: CalendarEvent) -> timedelta:
    if event.start is None or event.end is None:
        return timedelta(0)
    return event.end - event.start


def _own_domain(event: CalendarEvent, user_email: str | None) -> str | None:
    """The user's employer domain when the calendar is a work calendar; None for free mail."""
    if user_email and "@" in user_email:
        address = _address(user_email)
        if address.employer:
            return address.registrable
    for attendee in event.attendees:
        if attendee.is_self:
            address = _address(attendee.email)
            if address.employer:
                return address.registrable
    return None


# ---- parsing helpers -------------------------------------------------------------------------------


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


_EMPTY: Final[Mapping[str, Any]] = {}


def _mapping(value: object) -> Mapping[str, Any]:
    # dict first: JSON gives dicts, and the ABC check costs several times more.
    return value if isinstance(value, dict | Mapping) else _EMPTY


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_when(value: object) -> tuple[datetime | None, bool]:
    """(aware start, all-day?) of a {"dateTime", "timeZone"} or {"date"} object."""
    when = _mapping(value)
    stamp = _text(when.get("dateTime"))
    if stamp:
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return None, False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_zone(_text(when.get("timeZone"))))
        try:
            moment.astimezone(UTC)  # kept in UTC: an invite at 0001-01-01T00:30+01:00 has no UTC time
        except OverflowError:
            return None, False
        return moment, False
    day = _text(when.get("date"))
    if day:
        try:
            return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC), True
        except ValueError:
            return None, True
    return None, False


def _zone(name: str) -> Any:
    # Google sends every dateTime with its offset (RFC 3339), so a named zone is needed only for a
    # stamp without one: zoneinfo (~4 ms of a cold start, sysconfig included) loads only then.
    if not name:
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return UTC


def _conference_url(event: Mapping[str, Any], location: str, description: str) -> str | None:
    """The event's video link: Meet/conferenceData first, else a conferencing URL in location or text."""
    hangout = _text(event.get("hangoutLink"))
    if hangout:
        return hangout
    conference = _mapping(event.get("conferenceData"))
    for entry in _list(conference.get("entryPoints")):
        point = _mapping(entry)
        uri = _text(point.get("uri"))
        if uri and point.get("entryPointType", "video") == "video":
            return uri
    for text in (location, description[:MAX_LINK_CHARS]):
        for start, end, host in url_hosts(text):
            if _in_set(host, CONFERENCE_HOSTS):
                while end < len(text) and not text[end].isspace() and text[end] not in "\"'<>)]":
                    end += 1
                return text[start:end]
    return None
