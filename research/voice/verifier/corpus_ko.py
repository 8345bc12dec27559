"""Korean training material for the verifier (the ``train`` split; see :mod:`research.voice.verifier.corpus`).

Sentences share none with the Korean ``calib``/``test`` chatter of :mod:`research.voice.corpus`; voices use
the training variants only; babble uses its own sentences and voices.
"""

from __future__ import annotations

import itertools
import random

from research.voice.corpus import CHATTER

_CHATTER_KO = (
    # command words in context
    "신경이 잘 보이네요", "신경 주변으로 퍼지고 있어요", "혈관을 피해서 들어가세요", "혈관이 너무 가까워요",
    "동맥이 뛰는 게 보여요", "바늘이 휘었어요", "바늘 끝을 찾으세요", "바늘을 조금 빼세요",
    "화면이 정지된 것 같아요", "정지 버튼이 어디 있어요", "잠깐 정지할게요", "해제하고 다시 할게요",
    "라이브 방송 봤어요", "다시 재개하겠습니다", "오후에 재개합시다", "녹화는 나중에 할게요",
    "녹화가 안 된 것 같아요", "녹화 파일 어디 있어요", "시작하겠습니다", "중지하세요",
    "사진 한 장 찍어 주세요", "캡처한 사진 보여 주세요", "스냅샷 폴더 열어 주세요",
    "확인해 주세요", "환자 이름 확인했어요", "취소된 수술이 있어요", "예약을 취소할게요",
    "전체적으로 좋아 보여요", "모두 준비됐어요", "보기 좋네요", "숨기지 마세요", "숨을 크게 쉬세요",
    "신경", "혈관", "바늘", "전체", "모두", "보기", "숨기기", "사진", "녹화", "화면", "해제",
    "신경 보여 주세요", "혈관 좀 보여 줘", "바늘 보이세요", "전체 화면으로 보여 주세요",
    "신경 보기 전에 소독하세요", "정지 해제는 제가 할게요", "녹화 시작 시간을 적어 주세요",
    "확인 취소", "동맥 보기가 어려워요", "혈관 숨기기 싫어요",
    # everyday theatre talk
    "안녕하세요", "좋은 아침입니다", "장갑 사이즈 칠 반 주세요", "거즈 좀 더 주세요", "젤 좀 주세요",
    "프로브 커버 있어요", "조명을 조금 낮춰 주세요", "모니터를 이쪽으로 돌려 주세요", "침대를 올려 주세요",
    "침대를 조금 내려 주세요", "팔을 조금 들어 주세요", "고개를 왼쪽으로 돌려 주세요", "편하게 누워 계세요",
    "따끔합니다", "조금 뻐근할 수 있어요", "차가울 거예요", "손가락 움직여 보세요", "저린 느낌 있으세요",
    "아프면 말씀하세요", "거의 다 끝났어요", "잘하고 계세요", "조금만 참으세요", "깊게 숨 쉬세요",
    "혈압 백이십에 팔십입니다", "맥박 칠십입니다", "산소 포화도 구십팔입니다", "산소 이 리터 주세요",
    "리도카인 더 준비해 주세요", "총 삼십 밀리리터입니다", "흡인 먼저 하세요",
    "저항이 없어요", "압력이 높아요", "조금 더 안쪽으로", "조금 더 바깥쪽으로",
    "각도를 바꿔 보세요", "깊이를 줄여 주세요", "게인을 올려 주세요", "선형 프로브로 바꿔 주세요",
    "도플러 켜 주세요", "흐름이 없네요", "정맥이에요", "눌러 보세요", "림프절인가요", "지방이에요",
    "다음 환자 준비해 주세요", "회복실에 연락해 주세요", "약제부에 전화해 주세요", "주사기가 더 필요해요",
    "폐기물 통이 꽉 찼어요", "새 포장 열어 주세요", "멸균 장갑 주세요", "포가 젖었어요",
    "케이블이 걸려요", "테이블 좀 옮겨 주세요", "알람 꺼 주세요", "커프가 돌고 있어요",
    "심전도 선이 빠졌어요", "점심 먹었어요", "오늘 정말 바쁘네요", "주말에 뭐 하세요",
    "커피 마시고 싶어요", "내일 봐요", "수고했어요", "고맙습니다", "네", "아니요", "알겠습니다",
    "잠시만요", "다시 말씀해 주세요", "좀 조용히 해 주세요", "누가 당직이에요", "수술 목록이 길어요",
    "교수님 오셨어요", "전공의 선생님 해 보세요", "잘 보이네요", "훌륭해요", "완벽합니다",
)

TRAIN_BABBLE_KO = (
    "주차장이 또 꽉 찼어요", "회의실 예약했어요", "식당에 국수 나왔어요", "딸이 다음 주에 입학해요",
    "복도 페인트 칠하고 있어요", "충전기 있는 사람 있어요", "프린터에 종이가 없어요", "이따가 비 올 것 같아요",
    "월요일까지 보고서 내야 해요", "일요일 근무 바꿔 줄 수 있어요",
)

TRAIN_VARIANTS_KO = ("m8", "klatt3", "klatt4", "klatt5", "klatt6", "croak", "whisper", "whisperf", "adam", "Alex",
                     "Alicia", "Andrea", "aunty", "belinda", "benjamin", "boris", "david", "Denis", "ed", "edward",
                     "Gene", "gustave", "Hugo", "iven", "iven3", "Jacky", "john", "Lee", "linda", "Marco", "max",
                     "Michael", "Mike", "Mr", "paul", "quincy", "rob", "robert", "steph", "steph3", "Storm",
                     "travis", "victor", "zac", "norbert", "shelby", "grandpa", "anika")


def _templates_ko(rng: random.Random, n: int) -> list[str]:
    subj = ["신경이", "혈관이", "동맥이", "바늘이", "화면이", "사진이", "녹화가", "전체가", "프로브가", "영상이"]
    pred = ["잘 보여요", "안 보여요", "부어 보여요", "너무 깊어요", "가까워요", "멈췄어요", "흐려요", "좋아요",
            "이상해요", "움직여요", "작아요", "선명해요"]
    act = ["신경을 보여 줄까요", "혈관을 숨길까요", "화면을 정지할까요", "녹화를 시작할까요", "녹화를 중지할까요",
           "사진을 찍을까요", "다시 재개할까요", "확인할까요", "취소할까요", "바늘을 보여 줄까요"]
    pre = ["", "지금 ", "나중에 ", "혹시 ", "먼저 ", "다음에 "]
    out: set[str] = set()
    while len(out) < n:
        out.add(f"{rng.choice(subj)} {rng.choice(pred)}" if rng.random() < 0.5 else f"{rng.choice(pre)}{rng.choice(act)}")
    return sorted(out)


def train_chatter_ko(n_templates: int = 150, seed: int = 0) -> list[str]:
    """Korean non-command training sentences (disjoint from the calibration and test chatter)."""
    held = {s for split in ("calib", "test") for s in CHATTER["ko"][split]}
    items = list(dict.fromkeys(_CHATTER_KO))
    items += [s for s in _templates_ko(random.Random(seed), n_templates) if s not in items and s not in held]
    clash = held.intersection(items)
    if clash:
        raise ValueError(f"training chatter overlaps the held-out sentences: {sorted(clash)}")
    return items


def train_voices_ko() -> list[str]:
    """Korean training voices (``ko`` + training variants)."""
    return [f"ko+{v}" for v in TRAIN_VARIANTS_KO]


def train_babble_ko() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(sentences, voices)`` for Korean training and calibration babble."""
    return TRAIN_BABBLE_KO, tuple(f"ko+{v}" for v in itertools.islice(itertools.cycle(("iven3", "linda", "max", "zac",
                                                                                          "belinda", "klatt4")), 6))
