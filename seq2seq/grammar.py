"""A seeded generator of English-like sentences from a small grammar.

The grammar is deliberately simple; what matters for the task is variety of words, orders and lengths. Sentences are
drawn so that lengths are roughly uniform, and repeated words ("the dog saw the dog") occur naturally because the
determiners, prepositions and common nouns recur.
"""

import random

DETERMINERS = ["the", "a", "this", "that", "every", "some", "one", "my", "your", "his", "her", "our", "their"]
PLURAL_DETERMINERS = ["the", "these", "those", "some", "many", "few", "two", "three", "all", "our", "their"]
PRONOUNS = ["i", "you", "he", "she", "it", "we", "they"]
NAMES = [
    "alice",
    "bob",
    "carol",
    "dave",
    "emma",
    "frank",
    "grace",
    "henry",
    "iris",
    "jack",
    "kate",
    "leo",
    "mia",
    "noah",
    "olivia",
    "paul",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "uma",
    "victor",
    "wendy",
    "xavier",
    "yara",
    "zoe",
    "anna",
    "ben",
    "clara",
    "daniel",
]
NOUNS = [
    "cat",
    "dog",
    "mat",
    "bird",
    "fish",
    "horse",
    "mouse",
    "cow",
    "sheep",
    "goat",
    "lion",
    "tiger",
    "bear",
    "wolf",
    "fox",
    "rabbit",
    "duck",
    "frog",
    "snake",
    "owl",
    "man",
    "woman",
    "child",
    "boy",
    "girl",
    "baby",
    "teacher",
    "doctor",
    "farmer",
    "king",
    "queen",
    "student",
    "artist",
    "driver",
    "cook",
    "friend",
    "sailor",
    "house",
    "car",
    "tree",
    "road",
    "river",
    "hill",
    "garden",
    "door",
    "window",
    "table",
    "chair",
    "bed",
    "book",
    "pen",
    "box",
    "bag",
    "cup",
    "ball",
    "hat",
    "coat",
    "shoe",
    "key",
    "lamp",
    "clock",
    "phone",
    "letter",
    "map",
    "picture",
    "song",
    "story",
    "city",
    "town",
    "village",
    "park",
    "school",
    "shop",
    "market",
    "bridge",
    "boat",
    "train",
    "plane",
    "ship",
    "island",
    "forest",
    "field",
    "beach",
    "mountain",
    "lake",
    "sea",
    "sky",
    "sun",
    "moon",
    "star",
    "cloud",
    "rain",
    "wind",
    "fire",
    "stone",
    "flower",
    "apple",
    "bread",
    "cake",
    "milk",
    "water",
    "coffee",
    "tea",
    "soup",
    "egg",
    "cheese",
    "kitchen",
    "room",
    "wall",
    "roof",
    "floor",
    "garden",
    "fence",
    "gate",
    "street",
    "corner",
    "table",
    "piano",
    "guitar",
    "drum",
    "letter",
    "gift",
    "ring",
    "coin",
    "basket",
    "ladder",
    "rope",
]
NOUNS = list(dict.fromkeys(NOUNS))
PLURAL_NOUNS = [
    "cats",
    "dogs",
    "birds",
    "fish",
    "horses",
    "mice",
    "cows",
    "sheep",
    "lions",
    "bears",
    "foxes",
    "ducks",
    "frogs",
    "owls",
    "men",
    "women",
    "children",
    "boys",
    "girls",
    "teachers",
    "doctors",
    "farmers",
    "kings",
    "students",
    "friends",
    "houses",
    "cars",
    "trees",
    "rivers",
    "books",
    "boxes",
    "cups",
    "balls",
    "shoes",
    "keys",
    "flowers",
    "apples",
    "cakes",
    "eggs",
    "stars",
    "clouds",
    "boats",
    "trains",
    "ships",
    "stones",
    "songs",
    "stories",
]
INTRANSITIVE = [
    "sat",
    "slept",
    "ran",
    "walked",
    "jumped",
    "laughed",
    "smiled",
    "cried",
    "danced",
    "sang",
    "swam",
    "flew",
    "waited",
    "stayed",
    "fell",
    "rested",
    "arrived",
    "left",
    "played",
    "worked",
    "shouted",
    "whispered",
    "grew",
    "moved",
    "stopped",
]
PLURAL_INTRANSITIVE = [
    "bark",
    "sleep",
    "run",
    "walk",
    "jump",
    "laugh",
    "sing",
    "swim",
    "fly",
    "wait",
    "play",
    "work",
    "dance",
    "grow",
]
TRANSITIVE = [
    "saw",
    "liked",
    "found",
    "took",
    "made",
    "gave",
    "held",
    "kept",
    "bought",
    "sold",
    "read",
    "wrote",
    "painted",
    "opened",
    "closed",
    "watched",
    "followed",
    "helped",
    "called",
    "carried",
    "pushed",
    "pulled",
    "washed",
    "cooked",
    "ate",
    "drank",
    "chased",
    "caught",
    "threw",
    "loved",
    "hated",
    "visited",
    "built",
    "broke",
    "fixed",
    "cleaned",
    "moved",
    "met",
    "heard",
]
ADJECTIVES = [
    "big",
    "small",
    "old",
    "young",
    "red",
    "blue",
    "green",
    "yellow",
    "black",
    "white",
    "happy",
    "sad",
    "quick",
    "slow",
    "tall",
    "short",
    "long",
    "new",
    "bright",
    "dark",
    "warm",
    "cold",
    "soft",
    "hard",
    "quiet",
    "loud",
    "little",
    "tiny",
    "huge",
    "brave",
    "clever",
    "kind",
    "gentle",
    "wild",
    "lazy",
    "busy",
    "empty",
    "full",
    "heavy",
    "light",
    "clean",
    "dirty",
    "rich",
    "poor",
    "strange",
    "famous",
    "lucky",
    "funny",
    "angry",
    "calm",
    "sleepy",
    "hungry",
]
ADVERBS = [
    "quickly",
    "slowly",
    "quietly",
    "loudly",
    "happily",
    "sadly",
    "often",
    "never",
    "always",
    "again",
    "today",
    "yesterday",
    "soon",
    "later",
    "gently",
    "carefully",
    "suddenly",
    "finally",
]
PREPOSITIONS = [
    "on",
    "in",
    "under",
    "over",
    "near",
    "behind",
    "beside",
    "with",
    "from",
    "to",
    "into",
    "across",
    "along",
    "after",
    "before",
    "by",
    "at",
]
INTERJECTIONS = ["hello", "yes", "no", "thanks", "goodbye", "oh", "wow", "okay"]
PUNCTUATION = [".", "!", "?", ","]

WORDS: list[str] = list(
    dict.fromkeys(
        DETERMINERS
        + PLURAL_DETERMINERS
        + PRONOUNS
        + NAMES
        + NOUNS
        + PLURAL_NOUNS
        + INTRANSITIVE
        + PLURAL_INTRANSITIVE
        + TRANSITIVE
        + ADJECTIVES
        + ADVERBS
        + PREPOSITIONS
        + INTERJECTIONS
        + PUNCTUATION
        + ["and"]
    )
)
"""Every word the grammar can produce: the pool random word sequences are drawn from."""


class SentenceGrammar:
    """Draws sentences from the grammar with its own random generator, so a seed fixes every sentence."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._spare: dict[int, list[list[str]]] = {}  # drawn sentences of lengths not yet asked for

    def _noun_phrase(self, depth: int = 0) -> tuple[list[str], bool]:
        """A noun phrase and whether it is plural (which picks the verb's form)."""
        r = self.rng.random()
        if r < 0.12:
            return [self.rng.choice(NAMES)], False
        if r < 0.22:
            return [self.rng.choice(PRONOUNS)], False
        plural = r < 0.4
        words = [self.rng.choice(PLURAL_DETERMINERS if plural else DETERMINERS)]
        while self.rng.random() < 0.35 and len(words) < 3:
            words.append(self.rng.choice(ADJECTIVES))
        words.append(self.rng.choice(PLURAL_NOUNS if plural else NOUNS))
        if depth == 0 and self.rng.random() < 0.2:
            words += self._prep_phrase(depth + 1)
        return words, plural

    def _prep_phrase(self, depth: int = 0) -> list[str]:
        return [self.rng.choice(PREPOSITIONS), *self._noun_phrase(depth)[0]]

    def _verb_phrase(self, plural: bool) -> list[str]:
        if self.rng.random() < 0.45:
            words = [self.rng.choice(TRANSITIVE), *self._noun_phrase()[0]]
        else:
            words = [self.rng.choice(PLURAL_INTRANSITIVE if plural else INTRANSITIVE)]
            if self.rng.random() < 0.5:
                words += self._prep_phrase()
        if self.rng.random() < 0.25:
            words.append(self.rng.choice(ADVERBS))
        return words

    def clause(self) -> list[str]:
        subject, plural = self._noun_phrase()
        return subject + self._verb_phrase(plural)

    def sentence(self) -> list[str]:
        words = self.clause()
        while self.rng.random() < 0.3:
            words += ["and", *self.clause()]
        if self.rng.random() < 0.15:
            words.append(self.rng.choice(PUNCTUATION[:3]))
        return words

    def short_sentence(self, length: int) -> list[str]:
        """One- and two-word sentences, which the clause grammar rarely produces."""
        if length == 1:
            return [self.rng.choice(INTERJECTIONS + NAMES + NOUNS + PLURAL_NOUNS + INTRANSITIVE)]
        if self.rng.random() < 0.5:
            return [self.rng.choice(PLURAL_NOUNS), self.rng.choice(PLURAL_INTRANSITIVE)]
        return [self.rng.choice(PRONOUNS + NAMES), self.rng.choice(INTRANSITIVE)]

    def of_length(self, length: int, attempts: int = 200) -> list[str] | None:
        """A grammatical sentence of exactly ``length`` tokens, or None if none turned up in ``attempts`` draws."""
        if length <= 2:
            return self.short_sentence(length)
        if self._spare.get(length):
            return self._spare[length].pop()
        for _ in range(attempts):
            words = self.sentence()
            if len(words) == length:
                return words
            self._spare.setdefault(len(words), []).append(words)
        return None

    def random_sequence(self, length: int) -> list[str]:
        """Words in no grammatical order: the model must learn to reverse any order, not the grammar."""
        return [self.rng.choice(WORDS) for _ in range(length)]
