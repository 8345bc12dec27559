"""Sentences for synthetic test data: operating-theatre chatter per language and split.

Non-command speech deliberately includes command words in context ("the nerve looks swollen",
"don't freeze yet") - the false-accept defence must reject those. The ``calib`` and ``test``
lists share no sentence, so thresholds calibrated on one are measured on the other. ``BABBLE``
sentences only make background babble noise.
"""

from __future__ import annotations

CHATTER = {
    "en": {
        "calib": [
            "the nerve looks swollen", "can you show me the vessel", "hide the needle tray please",
            "let's freeze the image later", "okay thanks", "what time is it", "please record the dose",
            "stop", "pass me the gel", "the patient is comfortable", "blood pressure is stable",
            "we need more local anaesthetic", "that artery is pulsating", "show me", "all good",
            "is the recording running", "next patient please", "move the probe slightly",
            "I can see the needle tip", "hold still please", "twenty millilitres", "aspirate first",
            "the image is frozen", "cancel that order", "could you dim the lights",
            "the vessel is right next to the nerve", "how is the saturation", "a little bit deeper",
            "can you capture the whole plexus", "start the timer", "is the surgeon here yet",
            "we should hide the cables", "that looks like the nerve", "good view now",
            "confirm the patient's name please", "the needle is in plane", "no paraesthesia",
            "slowly inject five more", "the ultrasound gel is cold", "check the monitor",
            "thank you very much", "we are ready to start", "all of the nerves are visible",
            "show the trainee the artery", "right side", "one more picture for the notes",
            "who has the consent form", "keep going", "that is the brachial plexus", "lovely",
            "is the recorder on", "stop for a moment", "the probe needs a new cover",
            "resume the music please", "she is allergic to penicillin", "it is live on the screen",
            "hide it under the drape", "spread looks good", "no blood on aspiration", "yes",
        ],
        "test": [
            "the nerve seems a bit thickened", "where is the vessel exactly", "please hide the sharps",
            "do not freeze the frame yet", "fine thank you", "how long have we been going",
            "record the start time", "wait", "could you hand me the syringe", "she is very relaxed",
            "heart rate is sixty", "we need another ampoule", "the artery is compressible",
            "show it to me again", "everything is fine", "are we still recording",
            "the next case is a femoral block", "tilt the probe a little", "the tip is visible now",
            "keep very still", "ten millilitres so far", "negative aspiration",
            "the screen froze again", "please cancel the taxi", "turn the light towards me",
            "that vein collapses with pressure", "what is the oxygen level", "go a little shallower",
            "capture it for the logbook", "start the clock", "the surgeon is on his way",
            "tidy up those wires", "is that the median nerve", "much better view",
            "confirm the side and site", "the needle is out of plane", "any tingling in your fingers",
            "inject another two millilitres", "sorry the gel is cold", "watch the blood pressure",
            "thanks a lot", "let us begin", "I can see all three cords", "show her the anatomy",
            "left side", "a picture for the teaching file", "has anyone seen the checklist",
            "carry on", "this is the sciatic nerve", "brilliant", "did you press record",
            "pause there", "we need a sterile cover", "put the radio back on",
            "he is allergic to latex", "the feed is live", "tuck it under the sheet",
            "good spread around the nerve", "no blood", "okay",
        ],
    },
    "ko": {
        "calib": [
            "오늘 날씨가 좋네요", "신경이 부어 보여요", "혈관이 어디 있어요", "환자분 편안하세요",
            "혈압은 안정적입니다", "조금 더 깊이 넣어 주세요", "감사합니다", "준비됐어요",
            "바늘 끝이 보여요", "잠깐만요", "모니터를 확인해 주세요", "국소 마취제가 더 필요해요",
            "다음 환자 들어오세요", "움직이지 마세요", "좋아요", "사진은 나중에 찍을게요",
            "녹화가 되고 있나요", "불 좀 줄여 주세요", "동의서 어디 있어요", "천천히 주입하세요",
        ],
        "test": [
            "신경이 조금 두꺼워 보입니다", "혈관 위치를 알려 주세요", "많이 아프세요", "심박수는 육십입니다",
            "조금 얕게 들어가 주세요", "수고하셨습니다", "이제 시작합시다", "화면이 멈췄어요",
            "숨을 편하게 쉬세요", "산소 포화도는 어때요", "주사기 좀 주세요", "아주 좋습니다",
            "오른쪽입니다", "수술 선생님 오셨어요", "장갑 하나 더 주세요", "소독을 다시 할게요",
            "프로브를 조금 기울여 주세요", "괜찮습니다", "기록지를 확인해 주세요", "잘 퍼지고 있어요",
        ],
    },
}

BABBLE = {
    "en": [
        "did you see the match last night", "the coffee machine is broken again",
        "I will be on call this weekend", "the theatre list is running late today",
        "can someone restock the gloves", "my car would not start this morning",
        "we are going on holiday next month", "the new rota came out yesterday",
        "lunch is at one today", "the lift on the third floor is out of order",
        "she passed her exams", "remember to sign the controlled drugs book",
    ],
    "ko": [
        "어제 경기 봤어요", "커피 기계가 또 고장 났어요", "이번 주말에 당직이에요",
        "오늘 수술 일정이 늦어지고 있어요", "장갑 좀 채워 주세요", "점심은 한 시에 먹어요",
    ],
}

VOICES = {
    "en": {
        "calib": ["en-us", "en-us+f3", "en-gb+m3", "en-gb-x-rp+f2", "en-029+m1", "en-us+klatt2",
                  "en-gb-scotland+f4", "en-us+Andy"],
        "test": ["en-us+m4", "en-us+f1", "en-gb", "en-gb-x-gbclan+f5", "en-gb-x-gbcwmd+m6", "en-us+klatt",
                 "en-029+f3", "en-us+Annie"],
        "babble": ["en-us+m2", "en-gb+f1", "en-us+f4", "en-gb-x-rp+m5", "en-us+m7", "en-gb+f5"],
    },
    "ko": {
        "calib": ["ko", "ko+f3", "ko+m3", "ko+klatt2"],
        "test": ["ko+m4", "ko+f1", "ko+klatt", "ko+f5"],
        "babble": ["ko+m2", "ko+f2", "ko+m5", "ko+f4"],
    },
}
"""espeak-ng voices (language + variant) per split; the test voices are never used for calibration."""
