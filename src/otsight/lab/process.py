"""A small deterministic physical process behind a PLC: a tank with an inflow and a pump.

The level rises with a noisy inflow; the pump starts above the high setpoint and stops below the
low one (hysteresis). Register layout (0-based addresses, unit id from the device):

holding registers (FC 3 read, FC 6/16 write)
    0 high level setpoint, mm (normal 700-850, valid 0-1000)
    1 low level setpoint, mm (normal 150-250, valid 0-1000)
    2 pump speed, % (0-100)
    3 mode (1 auto, 0 manual)
    10-15 calibration block (read only during maintenance): 10 level-sensor zero offset, mm;
    11 level-sensor span, mm; 12 pump ramp time, s; 13 alarm delay, s; 14 firmware build;
    15 calibration date (days since 2000-01-01)
input registers (FC 4)
    0 level, mm   1 inflow, l/min x10   2 outflow, l/min x10   3 pump running (0/1)
    4 temperature, degC x10   5 seconds since start (low 16 bits)
coils (FC 1/5/15): 0 pump running, 1 inlet valve open
discrete inputs (FC 2): 0 high-level alarm, 1 low-level alarm
"""

from __future__ import annotations

import random
from dataclasses import dataclass

HOLDING_COUNT = 20
CALIBRATION = (0, 1000, 5, 3, 3108, 9131)  # holding registers 10-15
INPUT_COUNT = 10
COIL_COUNT = 8
DISCRETE_COUNT = 8
SETPOINT_MAX = 1000
TANK_HEIGHT_MM = 1000.0


@dataclass(slots=True)
class TankState:
    """The state the registers show."""

    level_mm: float
    inflow: float  # l/min
    outflow: float  # l/min
    pump_running: bool
    temperature_c: float
    elapsed_s: float


class TankProcess:
    """Tank-and-pump process, advanced in time steps; seeded, so runs are reproducible."""

    __slots__ = ("_rng", "holding", "state")

    def __init__(self, seed: int, level_mm: float = 450.0) -> None:
        self._rng = random.Random(seed)
        self.holding: list[int] = [800, 200, 75, 1] + [0] * (HOLDING_COUNT - 4)
        self.holding[10:10 + len(CALIBRATION)] = CALIBRATION
        self.state = TankState(level_mm, 40.0, 0.0, False, 18.5, 0.0)

    def write_holding(self, address: int, values: list[int]) -> None:
        """Apply an FC 6/16 write; the PLC does no range checks (as many real ones do not)."""
        for i, value in enumerate(values):
            if 0 <= address + i < HOLDING_COUNT:
                self.holding[address + i] = int(value) & 0xFFFF

    def advance(self, dt: float) -> None:
        """Move the process forward by ``dt`` seconds (in steps of at most 0.5 s)."""
        while dt > 0:
            step = min(dt, 0.5)
            dt -= step
            self._step(step)

    def _step(self, dt: float) -> None:
        s = self.state
        high, low, speed, mode = self.holding[0], self.holding[1], self.holding[2], self.holding[3]
        s.inflow = max(0.0, min(80.0, s.inflow + self._rng.gauss(0.0, 1.5) * dt))
        if mode == 1:
            if s.level_mm >= high:
                s.pump_running = True
            elif s.level_mm <= low:
                s.pump_running = False
        s.outflow = (1.2 * min(speed, 100)) if s.pump_running else 0.0
        # 1 l/min of net inflow raises this (small, fast) tank by 0.5 mm/s.
        s.level_mm += (s.inflow - s.outflow) * 0.5 * dt
        s.level_mm = max(0.0, min(TANK_HEIGHT_MM, s.level_mm))
        target = 18.0 + (4.0 if s.pump_running else 0.0)
        s.temperature_c += (target - s.temperature_c) * 0.02 * dt + self._rng.gauss(0, 0.01)
        s.elapsed_s += dt

    def input_registers(self) -> list[int]:
        s = self.state
        regs = [
            round(s.level_mm),
            round(s.inflow * 10),
            round(s.outflow * 10),
            int(s.pump_running),
            round(s.temperature_c * 10),
            int(s.elapsed_s) & 0xFFFF,
        ]
        return [v & 0xFFFF for v in regs] + [0] * (INPUT_COUNT - len(regs))

    def coils(self) -> list[bool]:
        s = self.state
        return [s.pump_running, s.inflow > 0.5] + [False] * (COIL_COUNT - 2)

    def discrete_inputs(self) -> list[bool]:
        s = self.state
        return [s.level_mm >= 950.0, s.level_mm <= 50.0] + [False] * (DISCRETE_COUNT - 2)
