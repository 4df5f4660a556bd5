"""Journal replay: a long test whose failure is at its very end, as
integration tests tend to be written."""


def replay(entries):
    state = {}
    for key, value in entries:
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    return state


def test_replay_keeps_last_write():
    entries = [
        ("ax", 1),
        ("ay", 2),
        ("bx", 3),
        ("by", 4),
        ("cx", 5),
        ("cy", 6),
        ("dx", 7),
        ("dy", 8),
        ("ex", 9),
        ("ey", 10),
        ("fx", 11),
        ("fy", 12),
        ("gx", 13),
        ("gy", 14),
        ("hx", 15),
        ("hy", 16),
        ("ix", 17),
        ("iy", 18),
        ("jx", 19),
        ("jy", 20),
        ("kx", 21),
        ("ky", 22),
        ("lx", 23),
        ("ly", 24),
        ("mx", 25),
        ("my", 26),
        ("nx", 27),
        ("ny", 28),
        ("ox", 29),
        ("oy", 30),
        ("px", 31),
        ("py", 32),
        ("qx", 33),
        ("qy", 34),
        ("rx", 35),
        ("ry", 36),
        ("sx", 37),
        ("sy", 38),
        ("tx", 39),
        ("ty", 40),
        ("ux", 41),
        ("uy", 42),
        ("vx", 43),
        ("vy", 44),
        ("wx", 45),
        ("wy", 46),
        ("xx", 47),
        ("xy", 48),
        ("yx", 49),
        ("yy", 50),
        ("zx", 51),
        ("zy", 52),
    ]
    state = replay(entries)
    assert state["ax"] == 1
    assert len(state) == 52
    assert state["zy"] == 53, "the last journal entry was not applied"
