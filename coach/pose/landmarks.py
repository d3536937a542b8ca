"""The 33 MediaPipe pose landmarks, by a 0-based enum, and the skeleton drawn between them.

Left and right are the person's own sides (MediaPipe's convention), never the image's.
"""

from enum import IntEnum


class Landmark(IntEnum):
    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = len(Landmark)
LANDMARK_NAMES: tuple[str, ...] = tuple(lm.name.lower() for lm in Landmark)

L = Landmark
HEAD = (L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.MOUTH_RIGHT)
LEFT_HAND = (L.LEFT_WRIST, L.LEFT_PINKY, L.LEFT_INDEX, L.LEFT_THUMB)
RIGHT_HAND = (L.RIGHT_WRIST, L.RIGHT_PINKY, L.RIGHT_INDEX, L.RIGHT_THUMB)
TORSO = [int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER), int(L.LEFT_HIP), int(L.RIGHT_HIP)]  # a list: an index array

# Bones drawn by the overlay, grouped so a bone can be coloured by the measure it belongs to.
SKELETON: tuple[tuple[Landmark, Landmark], ...] = (
    (L.LEFT_EAR, L.LEFT_EYE), (L.LEFT_EYE, L.NOSE), (L.NOSE, L.RIGHT_EYE), (L.RIGHT_EYE, L.RIGHT_EAR),
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_HIP), (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW), (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_WRIST, L.LEFT_INDEX), (L.RIGHT_WRIST, L.RIGHT_INDEX),
    (L.LEFT_HIP, L.LEFT_KNEE), (L.LEFT_KNEE, L.LEFT_ANKLE), (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    (L.RIGHT_HIP, L.RIGHT_KNEE), (L.RIGHT_KNEE, L.RIGHT_ANKLE), (L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
)
