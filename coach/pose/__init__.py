"""Who is where: pose records, the landmark enum, the MediaPipe adapter (the only mediapipe import), model resolution, person tracking, pose-landmarks/1 recordings."""
