/**
 * Unit tests of the ANSI reader: colours become classes, every other escape
 * (OSC-8 links included) is dropped, text stays text.
 */

import { defaultStyle, parseAnsiLine, stripAnsi } from '../ansi';

describe('parseAnsiLine', () => {
  it('turns SGR colours and bold into classes and resets them', () => {
    const { segments, style } = parseAnsiLine(
      'plain \x1b[1;31mred bold\x1b[0m back \x1b[92mbright'
    );
    expect(segments).toEqual([
      { text: 'plain ', classes: [] },
      { text: 'red bold', classes: ['iog-ansi-fg-1', 'iog-ansi-bold'] },
      { text: ' back ', classes: [] },
      { text: 'bright', classes: ['iog-ansi-fg-10'] }
    ]);
    expect(style.fg).toBe(10);
  });

  it('carries the style across lines', () => {
    const first = parseAnsiLine('\x1b[34mblue starts');
    const second = parseAnsiLine('still blue', first.style);
    expect(second.segments[0].classes).toEqual(['iog-ansi-fg-4']);
    expect(parseAnsiLine('plain', defaultStyle()).segments[0].classes).toEqual(
      []
    );
  });

  it('keeps only the text of an OSC-8 link, never its target', () => {
    const line =
      'see \x1b]8;;javascript:alert(1)\x1b\\click me\x1b]8;;\x1b\\ now';
    expect(stripAnsi(line)).toBe('see click me now');
    const bel = 'a\x1b]8;;https://evil.example\x07b\x1b]8;;\x07c';
    expect(stripAnsi(bel)).toBe('abc');
    expect(stripAnsi('\x1b]0;window title\x07text')).toBe('text');
  });

  it('drops cursor movement, other controls and unfinished sequences', () => {
    expect(stripAnsi('a\x1b[2Kb\x1b[1Ac\x07d\x00e\x1b[31')).toBe('abcde');
    expect(stripAnsi('tab\there')).toBe('tab\there');
    expect(stripAnsi('x\x1b7y')).toBe('xy');
  });

  it('keeps what follows the last carriage return (progress bars)', () => {
    expect(stripAnsi(' 10%\r 50%\r100%')).toBe('100%');
    expect(stripAnsi('done\r')).toBe('done');
  });

  it('leaves HTML as text', () => {
    const line = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    expect(stripAnsi(line)).toBe(line);
  });

  it('maps 256-colour indexes below 16 and ignores true colour', () => {
    expect(parseAnsiLine('\x1b[38;5;9mx').segments[0].classes).toEqual([
      'iog-ansi-fg-9'
    ]);
    expect(parseAnsiLine('\x1b[38;2;1;2;3mx').segments[0].classes).toEqual([]);
  });
});
