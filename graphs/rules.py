"""Deterministic routing rules: they work with no model at all and run before any model does.

- Red flags: symptoms that need urgent conventional care. Matching errs on the side of caution:
  a question that mentions sudden chest pain gets urgent-care guidance first even if it is asked
  "about TCM".
- Prompt injection: attempts to override the assistant's instructions.
- Domain: which tradition a question belongs to, from a vocabulary of TCM and Shaolin terms.
- Follow-ups: messages that only make sense with the conversation history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = re.IGNORECASE


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)


# Each red flag names the kind of emergency, so the answer can add the fitting advice.
RED_FLAGS: dict[str, re.Pattern[str]] = {
    "cardiac": _rx(
        r"chest\s+(pain|pressure|tightness|hurts|is\s+tight)",
        r"(pain|pressure|tightness|squeezing|heaviness)\s+in\s+(my|the|his|her)\s+chest",
        r"crushing\s+(pain|feeling)",
        r"heart\s+attack",
        r"(pain|numb\w*|tingl\w*).{0,40}(left\s+arm|jaw).{0,40}(chest|breath|sweat)",
    ),
    "stroke": _rx(
        r"\bstroke\b(?!s?\s+of)",
        r"face.{0,30}\bdroop|\bdroop\w*.{0,30}face",
        r"\bslurr\w*|can'?t\s+speak\s+properly",
        r"sudden\w*\s+(numb\w*|weak\w*|paraly\w*)",
        r"(numb\w*|weak\w*)\s+on\s+one\s+side",
        r"one\s+side\s+of\s+(my|his|her|the)\s+(face|body)",
        r"(sudden|worst)\s+(severe\s+)?headache\s+of\s+(my|his|her)\s+life",
        r"worst\s+headache",
        r"sudden\w*\s+(severe\s+)?headache",
        r"sudden\w*\s+(loss\s+of\s+)?(vision|sight|blind)",
        r"can'?t\s+(move|feel)\s+(my|his|her)\s+(arm|leg|face|side)",
    ),
    "breathing": _rx(
        r"can'?t\s+breathe|cannot\s+breathe|unable\s+to\s+breathe",
        r"(difficulty|trouble|struggling|hard\s+to)\s+breath",
        r"short(ness)?\s+of\s+breath",
        r"gasping\s+for\s+(air|breath)",
        r"\bchoking\b",
        r"lips\s+(are\s+)?(turning\s+|going\s+)?(blue|grey|gray)",
        r"can'?t\s+catch\s+(my|his|her)\s+breath",
    ),
    "bleeding": _rx(
        r"(severe|heavy|uncontrolled|profuse)\s+bleeding",
        r"bleeding\s+(heavily|a\s+lot|won'?t\s+stop|that\s+won'?t\s+stop|badly)",
        r"won'?t\s+stop\s+bleeding",
        r"(coughing|vomiting|throwing)\s+(up\s+)?blood",
        r"blood\s+in\s+(my|his|her|the)?\s*(vomit|stool|poo)",
        r"black\s+(tarry\s+)?stools?|stools?\s+(is\s+|are\s+)?(black|tarry)",
        r"coffee[-\s]grounds?",
    ),
    "consciousness": _rx(
        r"\bunconscious\b|\bunresponsive\b|passed\s+out|\bfainted\b|\bfainting\b",
        r"\bseizures?\b|\bconvuls\w*|\bfit\s+and\b",
        r"won'?t\s+wake\s+up|can'?t\s+wake\s+(him|her|them)",
        r"(sudden\w*|very)\s+confused|\bconfusion\b.{0,30}(sudden|fever)",
    ),
    "self_harm": _rx(
        r"suicid\w*",
        r"kill\s+(myself|himself|herself)",
        r"end(ing)?\s+(my|his|her)\s+(own\s+)?life|take\s+my\s+(own\s+)?life",
        r"self[-\s]?harm",
        r"hurt(ing)?\s+myself",
        r"want\s+to\s+die",
        r"no\s+reason\s+to\s+live",
    ),
    "poisoning": _rx(
        r"\boverdos\w*",
        r"\b(i|i've|i\s+have|he|she|my\s+\w+)\s+(just\s+)?"
        r"(took|ate|swallowed|drank|has\s+taken|have\s+taken)\b.{0,80}"
        r"(numb|tingl|heart\s+(is\s+)?(racing|pounding)|irregular|vomit|dizzy|faint|palpitat)",
        r"\bpoisoned\b",
        r"(child|kid|baby|toddler|son|daughter)\s+(ate|swallowed|drank)",
    ),
    "allergy": _rx(
        r"anaphyla\w*",
        r"throat\s+(is\s+)?(swelling|closing|tight)",
        r"swollen\s+(tongue|throat|lips)|(tongue|lips|throat)\s+(is\s+|are\s+)?swell",
        r"hives.{0,40}(breath|swell)",
    ),
    "pregnancy": _rx(
        r"pregnan\w*.{0,80}(bleeding|severe\s+(pain|cramp\w*|headache)|waters?\s+broke|"
        r"no\s+movement|baby\s+(stopped|isn'?t)\s+moving)",
        r"(bleeding|severe\s+(pain|cramp\w*)).{0,60}pregnan\w*",
    ),
    "infection": _rx(
        r"stiff\s+neck.{0,60}fever|fever.{0,60}stiff\s+neck",
        r"fever.{0,40}(rash\s+that\s+doesn'?t\s+fade|purple\s+rash)",
        r"(baby|infant|newborn).{0,40}(high\s+)?fever|fever.{0,40}(baby|infant|newborn)",
        r"fever\s+(of|over|above)\s+(40|104)",
    ),
    "abdominal": _rx(
        r"(severe|unbearable|excruciating|sudden)\s+(abdominal|stomach|belly|tummy)\s+pain",
    ),
}

INJECTION = _rx(
    r"ignore\s+(all\s+|any\s+|the\s+|your\s+)?(previous|prior|above|earlier|preceding)?\s*"
    r"(instructions|prompts?|rules|directions|guidelines)",
    r"disregard\s+(all\s+|any\s+|the\s+|your\s+)?(previous|prior|above|earlier)?\s*"
    r"(instructions|prompts?|rules|guidelines)",
    r"forget\s+(all\s+|everything|your\s+)(previous\s+|prior\s+)?(instructions|rules|you\s+were)",
    r"(reveal|show|print|repeat|tell\s+me|what\s+is|what'?s|output|leak)\s+(me\s+)?(your|the)\s+"
    r"(system|hidden|initial|original)\s+(prompt|instructions|message)",
    r"\bsystem\s+prompt\b",
    r"\bjailbreak\w*",
    r"\b(developer|dan|god)\s+mode\b",
    r"\brole[-\s]?play\b.{0,80}\b(no|without)\s+(safety\s+)?(rules|limits|restrictions)",
    r"\byou\s+are\s+dan\b|\bstay\s+in\s+character\b",
    r"\b(start|begin)\s+your\s+(reply|answer|response)\s+with\b",
    r"you\s+are\s+now\s+(a|an|in)\b",
    r"from\s+now\s+on,?\s+you\s+(are|will|must)",
    r"pretend\s+(to\s+be|you\s+are)",
    r"act\s+as\s+(if\s+you\s+(are|were)\s+)?(a|an)\s+(unrestricted|unfiltered|different)",
    r"override\s+(your|the)\s+(safety|rules|instructions)",
    r"\[\s*system\s*\]|<\s*/?\s*system\s*>|###\s*system",
    r"without\s+(any\s+)?(safety|restrictions|filters|warnings)",
)

# Only consulted for messages without domain words, so these may be loose.
GREETING = _rx(
    r"^\s*(hi|hello|hey|hiya|good\s+(morning|afternoon|evening)|greetings|ni\s*hao|你好)\b",
    r"^\s*(thanks?|thank\s+you|many\s+thanks|cheers|great|ok(ay)?|cool|nice|bye|goodbye)\b"
    r"[^?]*$",
    r"\b(who|what)\s+are\s+you\b",
    r"\bwhat\s+can\s+you\s+(do|help\s+(me\s+)?with|tell\s+me\s+about)\b",
    r"^\s*how\s+(are\s+you|do\s+you\s+work|does\s+this\s+work)\b",
    r"^\s*(help|what\s+do\s+you\s+know)\??\s*$",
)

# Names of herbs, formulas and points: a message naming one has its own subject and needs no
# history; a message without one may be a follow-up.
TCM_ENTITIES = (
    # herbs
    "huang qi", "astragalus", "ren shen", "ginseng", "dang gui", "dong quai", "angelica",
    "gan cao", "licorice", "liquorice", "bai zhu", "atractylodes", "fu ling", "poria",
    "chuan xiong", "ligusticum", "bai shao", "peony", "shu di", "rehmannia", "chai hu",
    "bupleurum", "gou qi", "goji", "lycium", "wolfberry", "ju hua", "chrysanthemum",
    "jin yin hua", "honeysuckle", "lian qiao", "forsythia", "ma huang", "ephedra", "ephedrine",
    "gui zhi", "cinnamon", "sheng jiang", "ginger", "da zao", "jujube", "fu zi", "aconite",
    "aconitine", "huang qin", "scutellaria", "skullcap", "huang lian", "coptis", "berberine",
    "ban xia", "pinellia", "chen pi", "tangerine peel", "dan shen", "salvia", "shan yao",
    "chinese yam", "suan zao ren", "sour jujube", "bo he", "peppermint", "mint", "ge gen",
    "kudzu", "three treasures", "san bao", "ming men", "five spirits",
    "chuan wu", "cao wu", "guang fang ji", "fang ji", "mu tong", "aristolochic",
    "cinnabar", "zhu sha", "realgar", "xiong huang", "xi xin", "lei gong teng", "ginkgo",
    "hong hua", "safflower", "tao ren", "da huang", "rhubarb", "san leng", "e zhu", "shui zhi",
    "mang xiao", "li lu", "fang feng", "sheng ma", "long yan rou", "yuan zhi", "xing ren",
    # formulas
    "si jun zi", "four gentlemen", "si wu tang", "four substances", "liu wei di huang",
    "six-ingredient", "six ingredient", "xiao yao san", "free and easy wanderer",
    "rambling powder", "gui zhi tang", "cinnamon twig decoction", "ma huang tang",
    "ephedra decoction", "bu zhong yi qi", "yu ping feng", "jade windscreen", "er chen",
    "two-aged", "two aged", "yin qiao", "xiao chai hu", "minor bupleurum", "gui pi tang",
    "restore the spleen", "jin gui shen qi", "xue fu zhu yu", "chai hu shu gan", "you gui wan",
    "sheng mai san", "wu ling san", "ge gen tang",
    # points
    "he gu", "hegu", "zu san li", "zusanli", "san yin jiao", "sanyinjiao", "nei guan", "neiguan",
    "tai chong", "taichong", "feng chi", "fengchi", "bai hui", "baihui", "qi hai", "qihai",
    "yong quan", "yongquan", "lie que", "lieque", "jian jing", "jianjing", "shen men", "shenmen",
    "dan zhong", "danzhong", "shan zhong", "shen shu", "shenshu", "da zhui", "dazhui", "yin tang",
    "yintang", "union valley", "leg three miles", "three yin intersection", "inner pass",
    "great rushing", "wind pool", "hundred convergences", "sea of qi", "gushing spring",
    "broken sequence", "shoulder well", "spirit gate", "chest centre", "chest center",
    "kidney shu", "great hammer", "hall of impression",
)
TCM_TERMS = TCM_ENTITIES + (
    "tcm", "traditional chinese medicine", "chinese medicine", "chinese herb", "herb", "herbal",
    "formula", "decoction", "powder", "pill", "acupuncture", "acupuncturist", "acupoint",
    "acupressure", "meridian", "channel", "qi", "chi", "yin", "yang", "five phases",
    "five elements", "wu xing", "zang", "zang-fu", "zang fu", "organ", "spleen", "liver",
    "kidney", "kidneys", "lung", "lungs", "stomach", "gallbladder", "triple burner", "san jiao",
    "pericardium", "tongue", "pulse", "damp", "dampness", "phlegm", "stasis", "stagnation",
    "deficiency", "excess", "moxibustion", "moxa", "cupping", "gua sha", "materia medica",
    "tonic", "tonify", "tonifies", "pattern", "syndrome", "jing", "shen", "essence",
    "wind-cold", "wind cold", "wind-heat", "wind heat", "eight principles", "blood",
    "body fluids", "fluids", "pathogen", "pathogens", "emotions", "diagnosis", "diagnose",
    "four examinations", "ten questions", "insomnia", "sleep", "headache", "migraine", "nausea",
    "vomiting", "digestion", "digestive", "bloating", "diarrhoea", "diarrhea", "constipation",
    "fatigue", "tired", "cough", "cold", "colds", "flu", "fever", "sore throat", "menstrual",
    "menstruation", "period", "periods", "pms", "cramps", "pregnancy", "pregnant",
    "breastfeeding", "fertility", "menopause", "stress", "anxiety", "pain", "sweating",
    "night sweats", "warfarin", "anticoagulant", "anticoagulants", "blood thinner",
    "blood thinners", "medication", "medications", "medicine", "medicines", "drug", "drugs",
    "interaction", "interactions", "toxic", "toxicity", "poisoning", "supplement", "supplements",
    "dose", "dosage", "dosing", "side effects", "contraindication", "contraindications",
    "practitioner", "heavy metals", "contamination", "needle", "needles",
    "needling", "immune", "immunity", "blood pressure", "hypertension", "diabetes", "hun", "po",
    "ying qi", "wei qi", "zong qi", "yuan qi", "jin ye", "san jiao",
)
# The words that make a question TCM's by themselves, as opposed to health words ("pain",
# "dose") that a question about conventional medicine uses too.
TCM_CORE = TCM_ENTITIES + (
    "tcm", "traditional chinese medicine", "chinese medicine", "chinese herb", "herb", "herbs",
    "herbal", "formula", "decoction", "acupuncture", "acupuncturist", "acupoint", "acupoints",
    "acupressure", "meridian", "meridians", "qi", "yin", "yang", "five phases", "five elements",
    "moxibustion", "moxa", "cupping", "gua sha", "zang-fu", "zang fu", "materia medica",
)
# Conventional medicines: a question about them with no TCM word is outside the scope.
CONVENTIONAL_DRUGS = (
    "amoxicillin", "antibiotic", "antibiotics", "ibuprofen", "paracetamol", "acetaminophen",
    "aspirin", "tylenol", "advil", "naproxen", "metformin", "insulin", "statin", "statins",
    "atorvastatin", "lisinopril", "amlodipine", "omeprazole", "prednisone", "sertraline",
    "fluoxetine", "prozac", "xanax", "diazepam", "viagra", "sildenafil", "opioid", "opioids",
    "codeine", "morphine", "warfarin", "digoxin", "antidepressant", "antidepressants",
)
SHAOLIN_TERMS = (
    "shaolin", "kung fu", "kungfu", "gongfu", "gong fu", "wushu", "martial", "martial art",
    "martial arts", "monk", "monks", "monastery", "temple", "abbot", "bodhidharma", "damo",
    "batuo", "huike", "chan", "zen", "buddhism", "buddhist", "buddha", "dhyana", "meditation",
    "meditate", "zuochan", "zuo chan", "koan", "koans", "gong'an", "gongan", "huatou", "huineng",
    "shenxiu", "platform sutra", "patriarch", "patriarchs", "linji", "caodong", "zhaozhou",
    "baizhang", "precepts", "qigong", "qi gong", "chi kung", "ba duan jin", "baduanjin",
    "eight brocades", "eight pieces of brocade", "brocade", "yi jin jing", "yijinjing",
    "tendon", "muscle change", "wei tuo", "stance", "stances", "horse stance", "bow stance",
    "ma bu", "gong bu", "pu bu", "xu bu", "xie bu", "zhan zhuang", "standing post",
    "standing meditation", "iron palm", "iron shirt", "conditioning", "72 arts",
    "seventy-two arts", "kick", "kicks", "kicking", "punch", "punches", "strike", "forms",
    "taolu", "xiao hong quan", "da hong quan", "hong quan", "tong bi", "luohan", "lohan",
    "staff", "cudgel", "ji ben gong", "basic skills", "stretching", "flexibility", "training",
    "train", "practice", "practise", "warm up", "warm-up", "dengfeng", "mount song", "song shan",
    "songshan", "pagoda", "pagoda forest", "tang dynasty", "li shimin", "wang shichong",
    "thirteen monks", "ming dynasty", "qing dynasty", "wokou", "pirates", "1928", "shi yousan",
    "shi yongxin", "jet li", "unesco", "northern wei", "xiaowen", "dantian", "dan tian",
    "breathing exercise", "wall-gazing", "wall gazing", "sutra", "sutras", "vegetarian",
    "five precepts", "lay disciple", "wu de", "martial virtue", "thousand buddha hall",
    "standing in snow", "lixue",
)
POINT_CODE = re.compile(
    r"\b(li|st|sp|pc|lv|lr|gb|du|gv|ren|cv|ki|kd|lu|ht|bl|ub|sj|te|si)[-\s]?\d{1,2}\b", _FLAGS
)
FOLLOW_UP = _rx(
    r"\b(it|its|it's|this|that|these|those|they|them|their|theirs|he|him|his|she|her|one)\b",
    r"^\s*(and|also|what\s+about|how\s+about|and\s+what\s+about|more|why|how\s+so)\b",
    r"\bhow\s+(much|many|often|long)\b",
    r"\b(the\s+(herb|formula|point|acupoint|stance|exercise|movement|form|monk|temple|same|"
    r"above|previous|last)|tell\s+me\s+more|more\s+detail|elaborate|go\s+on|continue)\b",
)


@dataclass(frozen=True)
class DomainScore:
    """How strongly a text belongs to each tradition, and whether it names its own subject."""

    tcm: int
    shaolin: int
    names_entity: bool
    tcm_core: bool = False
    conventional_drug: bool = False

    @property
    def tradition(self) -> str | None:
        """The stronger tradition, or None when neither vocabulary matched."""
        if not self.tcm and not self.shaolin:
            return None
        return "tcm" if self.tcm >= self.shaolin else "shaolin"

    @property
    def mixed(self) -> bool:
        return bool(self.tcm and self.shaolin)


def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(set(terms), key=len, reverse=True)
    return re.compile(
        r"(?<![a-z])(" + "|".join(re.escape(t) for t in ordered) + r")(?![a-z])", _FLAGS
    )


_TCM = _term_pattern(TCM_TERMS)
_TCM_ENTITY = _term_pattern(TCM_ENTITIES)
_TCM_CORE = _term_pattern(TCM_CORE)
_DRUG = _term_pattern(CONVENTIONAL_DRUGS)
_SHAOLIN = _term_pattern(SHAOLIN_TERMS)
# Shaolin names with no generic meaning: they mark a message as having its own subject.
_SHAOLIN_ENTITY = _term_pattern(
    tuple(t for t in SHAOLIN_TERMS if " " in t or t in {"shaolin", "bodhidharma", "huineng"})
)


def red_flag(text: str) -> str | None:
    """The kind of emergency a message describes, or None."""
    for kind, pattern in RED_FLAGS.items():
        if pattern.search(text):
            return kind
    return None


def is_injection(text: str) -> bool:
    """Whether the message tries to override the assistant's instructions."""
    return bool(INJECTION.search(text))


def is_greeting(text: str) -> bool:
    """Small talk: greetings, thanks, 'what can you do'."""
    return bool(GREETING.search(text))


def domain_score(text: str) -> DomainScore:
    """Count vocabulary hits for each tradition."""
    shaolin_spans = [m.span() for m in _SHAOLIN.finditer(text)]

    def outside_shaolin(match: re.Match[str]) -> bool:
        # "jing" inside "Yi Jin Jing" is part of a Shaolin name, not TCM's essence.
        return not any(a <= match.start() and match.end() <= b for a, b in shaolin_spans)

    tcm = sum(1 for m in _TCM.finditer(text) if outside_shaolin(m))
    tcm += 2 * len(POINT_CODE.findall(text))
    names_entity = bool(
        _TCM_ENTITY.search(text) or _SHAOLIN_ENTITY.search(text) or POINT_CODE.search(text)
    )
    return DomainScore(
        tcm=tcm,
        shaolin=len(shaolin_spans),
        names_entity=names_entity,
        tcm_core=any(outside_shaolin(m) for m in _TCM_CORE.finditer(text))
        or bool(POINT_CODE.search(text)),
        conventional_drug=bool(_DRUG.search(text)),
    )


def is_follow_up(text: str) -> bool:
    """Whether a message leans on earlier turns ('its cautions', 'what about ...')."""
    return bool(FOLLOW_UP.search(text))
