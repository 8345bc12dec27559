"""Training material for the learned verifier and VAD: sentences, voices and babble of the ``train`` split.

Nothing here is used by the ``calib`` or ``test`` splits of :mod:`research.voice.corpus`: the training
voices use espeak-ng voice variants that neither of those splits uses (so the calibration and the
held-out test both see voices the networks never heard), the training chatter shares no sentence
with them (checked by :func:`train_chatter`), and the training babble is made from other
sentences and other voices than the test babble.

Chatter deliberately contains command words in context ("did the nerve show up", "it's live
now", "let's resume after lunch") and near-miss words ("frozen", "recorder", "snapshots"); those
are exactly the utterances a verifier must call ``none``.
"""

from __future__ import annotations

import itertools
import random

from research.voice.corpus import CHATTER

ACCENTS_EN = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
              "en-us-nyc")
"""espeak-ng English accents (all of them; the voice *variants* are what the splits keep apart)."""

HELD_OUT_VARIANTS = frozenset({"", "m1", "m3", "m4", "m6", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "Andy",
                               "Annie", "m2", "m5", "m7"})
"""Variants of the ``calib``/``test`` voices and of the test babble (``""``: an accent's own voice)."""

TRAIN_VARIANTS = (
    "m8", "klatt3", "klatt4", "klatt5", "klatt6", "croak", "whisper", "whisperf", "adam", "Alex", "Alicia", "Andrea",
    "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "Denis", "Diogo", "ed", "edward",
    "edward2", "Gene", "Gene2", "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky", "john",
    "kaukovalta", "Lee", "linda", "marcelo", "Marco", "Mario", "max", "Michael", "michel", "miguel", "Mike", "Mr",
    "Nguyen", "pablo", "paul", "pedro", "quincy", "rob", "robert", "steph", "steph2", "steph3", "Storm", "travis",
    "victor", "zac", "norbert", "sandro", "shelby", "grandpa", "anika", "AnxiousAndy",
)
"""espeak-ng variants used for training speech (none of :data:`HELD_OUT_VARIANTS`)."""

BABBLE_TRAIN_VARIANTS = ("iven3", "linda", "Gene2", "steph3", "max", "belinda", "zac", "klatt4")

TRAIN_BABBLE_EN = (
    "the car park was full again this morning", "who took my pen from the desk",
    "we should book the meeting room for friday", "the canteen has soup today",
    "my daughter starts school next week", "they are painting the corridor",
    "has anyone got a charger for this phone", "the printer is out of paper again",
    "I think it will rain later", "the audit results are due on monday",
    "can you swap shifts with me on sunday", "the new trainees arrive in august",
    "there is cake in the staff room", "I missed the bus by a minute",
    "the heating is far too high in here", "we ran out of milk",
)
"""Background-talker sentences for training and calibration babble (the test babble uses :data:`research.voice.corpus.BABBLE`)."""

_CHATTER_EN = (
    # command words in context
    "did the nerve show up on the scan", "it's live now", "let's resume after lunch", "is the feed live yet",
    "the nerve is just lateral to the artery", "can you see the vessel wall", "show me where you are",
    "I want to show the students this view", "hide the gauze under the towel", "don't hide the monitor",
    "we froze the last image by mistake", "the picture froze for a second", "it is freezing in here",
    "freeze the moment in your memory", "she wants to resume her medication", "we can resume tomorrow",
    "record everything in the notes", "we need to record the volume", "the recording was too quiet",
    "who started the recording", "stop talking for a moment please", "stop the infusion",
    "start with ten millilitres", "we can start whenever you like", "confirm with the surgeon first",
    "can you confirm the allergy status", "cancel the next patient", "they cancelled the list",
    "take a snapshot of the monitor for me later", "capture the moment", "we captured it nicely",
    "snapshots are in the folder", "the needle is bending", "needle out please",
    "put the needle in the sharps bin", "show everyone the screen", "hide everything from the camera",
    "all of the vessels are patent", "everything looks normal", "the vessels are tiny in children",
    "that nerve is hyperechoic", "the artery is pulsing nicely", "show artery and vein together",
    "live music on the radio", "is this live or recorded", "we are live in five minutes",
    "unfreeze your shoulders and relax", "the screen is frozen again", "resume the usual dose",
    "let me capture your attention", "record the time of injection", "recorder is on the shelf",
    "please stop recording the call", "start recording the vital signs every five minutes",
    "show nerve and hide vessel", "show all the images to the consultant", "hide all the sharps now",
    "freeze image and then measure", "freeze please", "please freeze", "show nerve please",
    "hide needle now", "confirm please", "cancel it", "cancel that", "okay confirm the name",
    "show me the nerve", "hide the nerve", "the needle tip", "all done", "show", "hide", "nerve", "vessel",
    "needle", "everything", "recording", "frozen", "resumed", "capture it", "snap", "confirmed", "cancelled",
    "artery", "nerves", "vessels", "show needle tip", "hide it all", "stop it", "start it", "record it",
    "live feed", "go live", "freeze it", "unfrozen", "take a snap", "the snapshot button",
    # everyday theatre talk
    "good morning everyone", "can you pass the gloves", "size seven and a half please",
    "where did the porter go", "is the bed brake on", "the patient's name is smith", "any allergies",
    "when did she last eat", "the cannula is in the left hand", "is the drip running",
    "can we have the lights down", "turn the screen a bit towards me", "lovely image", "that's perfect",
    "just a sharp scratch", "you might feel some pressure", "take a deep breath", "try to keep still",
    "you are doing really well", "nearly finished now", "we are going to clean the skin",
    "this will feel cold", "sorry about that", "can you wiggle your fingers", "does that feel numb",
    "which arm is it", "is it the right or the left", "mark the site please", "the time out is done",
    "where is the consent form", "who is scrubbing today", "the next patient is in bay four",
    "the anaesthetic room is ready", "the surgeon is running late", "we need a porter for recovery",
    "can someone get the bleep", "the phone is ringing", "I'll be back in a minute", "keep pressure on it",
    "twenty gauge needle please", "fifty millimetre needle", "hundred millimetre needle",
    "chlorhexidine is drying", "have we got a sterile probe cover", "gel please", "more gel",
    "can you hold the arm", "lift the arm a bit higher", "rotate the head to the left",
    "a little bit more medial", "go more lateral", "angle the probe towards the head",
    "tilt the probe away from you", "pressure down a little", "that's the first rib", "there is the pleura",
    "watch out for the pleura", "that's the subclavian artery", "the cords are around the artery",
    "this is the interscalene groove", "that's the sternocleidomastoid", "the femoral vein is medial",
    "can you see the fascia iliaca", "inject slowly", "aspirate before injecting", "two more millilitres",
    "stop injecting", "the spread is good", "the local is going around the nerve",
    "the plexus is lighting up", "no resistance", "high pressure stop", "the pressure is fine",
    "any pain when I inject", "any shooting pains", "tell me if you feel tingling", "her sats are ninety eight",
    "blood pressure one twenty over eighty", "heart rate seventy", "she looks a bit pale",
    "is he feeling sick", "give some ondansetron", "draw up some more lidocaine",
    "levobupivacaine zero point five percent", "thirty millilitres in total", "that's the maximum dose",
    "write it on the chart", "the block time was ten fifteen", "check the block in twenty minutes",
    "test the cold sensation", "can you feel this", "is it colder on this side", "the block has worked",
    "we will do a spinal as well", "the surgeon wants a general too", "where is the trolley",
    "bring the ultrasound machine closer", "plug it in please", "the battery is low", "is it charging",
    "the image is too dark", "turn up the gain", "reduce the depth", "increase the depth a bit",
    "change to the linear probe", "the curved probe please", "colour doppler on", "no flow in that one",
    "that's a vein not an artery", "press and see if it collapses", "it's not compressible",
    "is that a lymph node", "that's just fat", "the muscle is very thin", "she's quite slim",
    "he has a big neck", "difficult views today", "much clearer now", "that's a classic picture",
    "teaching point here", "let the trainee have a go", "hand me the probe", "your turn",
    "nice needle visualisation", "I lost the tip", "find the tip before you advance",
    "withdraw a little", "redirect slightly", "you are too deep", "you're too shallow",
    "hydrodissect a bit", "small bolus", "fine", "great", "thanks", "cheers", "no problem", "of course",
    "sure", "right", "okay then", "alright", "yes please", "no thanks", "not yet", "in a minute",
    "hang on", "one second", "just a moment", "almost there", "all set", "ready when you are",
    "what did you say", "pardon", "say that again", "sorry I didn't catch that", "speak up please",
    "can everyone be quiet please", "who's on call tonight", "is it coffee time", "I'm starving",
    "the list is long today", "we have six more cases", "is the recovery bay free", "call the ward",
    "ring pharmacy", "we need more syringes", "the sharps bin is full", "bin this please",
    "can you open another pack", "sterile gloves size eight", "there's blood on the drape",
    "change the drape", "the towel has slipped", "the cable is in the way", "move the table",
    "raise the bed", "lower the bed a bit", "put the head down", "sit her up a little",
    "the oxygen mask is on", "two litres of oxygen", "put the nasal specs on", "the saturation probe fell off",
    "the cuff is cycling", "the monitor is alarming", "silence the alarm", "that's just the cuff",
    "the ecg lead came off", "reattach the leads", "everything is stable", "observations are normal",
    "it's nearly lunchtime", "the weather is lovely today", "did you watch the news",
    "the traffic was terrible", "my train was cancelled", "happy birthday", "how was your weekend",
    "I'm on holiday next week", "it's so busy", "we'll finish early today", "nice work everyone",
    "see you tomorrow", "goodbye", "hello", "hi there", "thank you so much",
)


def _templates_en(rng: random.Random, n: int) -> list[str]:
    """Combinatorial sentences with command words in context (many distinct word orders)."""
    subj = ["the nerve", "the vessel", "the artery", "the needle", "the image", "the screen", "the picture",
            "the recording", "the video", "the probe", "the plexus", "the tip", "everything", "it", "that"]
    verb = ["looks", "seems", "is", "was", "appears", "might be", "could be", "should be"]
    comp = ["swollen", "frozen", "live", "fine", "too deep", "very close", "a bit blurry", "hidden", "visible",
            "clearer now", "recorded", "on the left", "all over the place", "perfect", "small", "moving"]
    pre = ["did you", "can we", "could you", "should we", "why did you", "don't", "please don't", "let's not",
           "we can", "I will", "you can", "shall I", "maybe we should", "remember to", "try to"]
    act = ["show the nerve", "hide the vessel", "freeze the screen", "resume the scan", "record this",
           "start the recording", "stop the recording", "take a snapshot", "capture this view",
           "confirm the dose", "cancel the order", "show all of it", "hide the needle", "show the artery",
           "go live", "unfreeze it", "show everything", "hide everything", "record the dose", "start again"]
    post = ["", " later", " now", " please", " for me", " again", " first", " after this", " in a moment",
            " before we start"]
    out: set[str] = set()
    while len(out) < n:
        if rng.random() < 0.5:
            s = f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(comp)}"
        else:
            s = f"{rng.choice(pre)} {rng.choice(act)}{rng.choice(post)}"
        out.add(s)
    return sorted(out)


def train_chatter(lang: str = "en", n_templates: int = 600, seed: int = 0) -> list[str]:
    """Non-command sentences for training (disjoint from the ``calib`` and ``test`` chatter).

    Raises:
        ValueError: a training sentence is also a calibration or test sentence (a bug).
    """
    if lang != "en":
        from research.voice.verifier.corpus_ko import train_chatter_ko

        return train_chatter_ko()
    held = {s for split in ("calib", "test") for s in CHATTER["en"][split]}
    items = list(dict.fromkeys(_CHATTER_EN))
    items += [s for s in _templates_en(random.Random(seed), n_templates) if s not in items and s not in held]
    clash = held.intersection(items)
    if clash:
        raise ValueError(f"training chatter overlaps the held-out sentences: {sorted(clash)}")
    return items


def train_voices(lang: str = "en") -> list[str]:
    """Every training voice: accent x training variant."""
    if lang != "en":
        from research.voice.verifier.corpus_ko import train_voices_ko

        return train_voices_ko()
    return [f"{a}+{v}" for a, v in itertools.product(ACCENTS_EN, TRAIN_VARIANTS)]


def train_babble(lang: str = "en") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(sentences, voices)`` for training and calibration babble."""
    if lang != "en":
        from research.voice.verifier.corpus_ko import train_babble_ko

        return train_babble_ko()
    voices = tuple(f"{a}+{v}" for a, v in zip(itertools.cycle(ACCENTS_EN), BABBLE_TRAIN_VARIANTS))
    return TRAIN_BABBLE_EN, voices
