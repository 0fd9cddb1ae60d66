/**
 * Unit tests of the ANSI reader: colours become classes, every other escape
 * (OSC-8 links included) is dropped, text stays text.
 */

import { defaultStyle, parseAnsiLine } from '../ansi';

/**
 * The text of a line with every escape sequence and control character
 * removed: what a reader sees.
 */
function stripAnsi(line: string): string {
  return parseAnsiLine(line)
    .segments.map(segment => segment.text)
    .join('');
}

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

describe('parseAnsiLine, more', () => {
  it('skips escapes when deciding whether a carriage return clears', () => {
    expect(stripAnsi('done\r\x1b[0m')).toBe('done');
    expect(stripAnsi('done\r\x1b]0;title\x07')).toBe('done');
    expect(stripAnsi(' 50%\r\x1b[32m100%\x1b[0m')).toBe('100%');
  });

  it('drops C1 controls and a lone escape at the end', () => {
    expect(stripAnsi('a\u009b31mb\x1b')).toBe('a31mb');
    expect(stripAnsi('x\x1b[')).toBe('x');
  });

  it('keeps long printable runs whole and styles only what follows', () => {
    const long = 'x'.repeat(10000);
    const { segments } = parseAnsiLine(`${long}\x1b[4m${long}`);
    expect(segments).toEqual([
      { text: long, classes: [] },
      { text: long, classes: ['iog-ansi-underline'] }
    ]);
  });

  it('resets with 0, an empty SGR, and the per-attribute codes', () => {
    const { style } = parseAnsiLine('\x1b[1;3;4;41;95m\x1b[22;23;24;49;39m');
    expect(style).toEqual(defaultStyle());
    expect(parseAnsiLine('\x1b[31m\x1b[mx').segments[0].classes).toEqual([]);
    expect(parseAnsiLine('\x1b[2;103mx').segments[0].classes).toEqual([
      'iog-ansi-bg-11',
      'iog-ansi-dim'
    ]);
  });
});

describe('parseAnsiLine: where the last redraw starts', () => {
  const lastRedraw = (line: string): number => parseAnsiLine(line).redraw;

  it('finds the last carriage return that printable text follows', () => {
    expect(lastRedraw('a\rb\rc')).toBe(3);
    expect(lastRedraw('a\rb\r')).toBe(1);
    expect(lastRedraw('a\rb\r\x1b[0m')).toBe(1);
    expect(lastRedraw('\r\r\r')).toBe(-1);
    expect(lastRedraw('plain')).toBe(-1);
  });

  it('ignores a carriage return inside an OSC sequence', () => {
    expect(lastRedraw('a\rb\x1b]8;;x\ry\x07z')).toBe(1);
  });
});
