#!/usr/bin/python3
"""Writes the TNEF files of this directory that are not copies: synthetic-*.tnef, written here from
scratch to reach what the corpus samples do not (code pages, a long named property, RTF forms), and
rich-text-small.tnef, MimeKit's tnef/rich-text.eml winmail.dat cut down to fit a fuzzer's 64 KB.

Run from anywhere: /usr/bin/python3 tests/data/tnef/make_seeds.py [path/to/tnef_rich-text.eml]
(the .eml defaults to the corpus copy). The output is deterministic; test_tnef.c checks it."""
import email
import os
import struct
import sys
from email import policy

HERE = os.path.dirname(os.path.abspath(__file__))

# attributes: id = type << 16 | number
attTnefVersion = 0x00089006
attOemCodepage = 0x00069007
attMessageClass = 0x00078008
attSubject = 0x00018004
attBody = 0x0002800C
attMAPIProps = 0x00069003
attAttachRenddata = 0x00069002
attAttachTitle = 0x00018010
attAttachData = 0x0006800F
attAttachMetaFile = 0x00068011
attAttachment = 0x00069005

PT_LONG, PT_CURRENCY, PT_STRING8, PT_UNICODE, PT_BINARY = 0x3, 0x6, 0x1E, 0x1F, 0x102
MV = 0x1000


def attr(level, aid, data):
    return struct.pack('<BII', level, aid, len(data)) + data + struct.pack('<H', sum(data) & 0xFFFF)


def stream(*attrs):
    return struct.pack('<IH', 0x223E9F78, 0) + b''.join(attrs)


def pad(b):
    return b + b'\0' * (-len(b) % 4)


def prop(ptype, pid, value, name=None):
    """One MAPI property; value is bytes (counted types), int (PT_LONG) or a list (MV)."""
    out = struct.pack('<I', pid << 16 | ptype)
    if name is not None:
        n = name.encode('utf-16le') + b'\0\0'
        out += b'\x29\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46'
        out += struct.pack('<II', 1, len(n)) + pad(n)
    base = ptype & ~MV
    values = value if ptype & MV else [value]
    if ptype & MV or base in (PT_STRING8, PT_UNICODE, PT_BINARY):
        out += struct.pack('<I', len(values))
    for v in values:
        if base in (PT_STRING8, PT_UNICODE, PT_BINARY):
            out += struct.pack('<I', len(v)) + pad(v)
        elif base == PT_CURRENCY:
            out += struct.pack('<q', v)
        else:
            out += struct.pack('<I', v)
    return out


def props(*ps):
    return struct.pack('<I', len(ps)) + b''.join(ps)


def u(s):
    return s.encode('utf-16le') + b'\0\0'


PREBUF = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
          b"\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0"
          b"\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")


def lzfu(rtf):
    """Compressed RTF made of literals, plus one back-reference to the dictionary's "{\\rtf1"
    when the text starts with it, and the end marker: valid MS-OXRTFCP, not small."""
    out = bytearray()
    items = []
    if rtf.startswith(b'{\\rtf1'):
        items.append(('ref', 0, 6))
        rest = rtf[6:]
    else:
        rest = rtf
    items += [('lit', c) for c in rest]
    pos = len(PREBUF) + len(rtf)
    items.append(('ref', pos % 4096, 2))  # offset == write position: the end
    for i in range(0, len(items), 8):
        chunk = items[i:i + 8]
        flags = 0
        body = bytearray()
        for bit, it in enumerate(chunk):
            if it[0] == 'ref':
                flags |= 1 << bit
                body += struct.pack('>H', it[1] << 4 | (it[2] - 2))
            else:
                body.append(it[1])
        out.append(flags)
        out += body
    out = bytes(out)
    return struct.pack('<IIII', len(out) + 12, len(rtf), 0x75465A4C, 0) + out


def mela(rtf):
    return struct.pack('<IIII', len(rtf) + 12, len(rtf), 0x414C454D, 0) + rtf


def synthetic_1():
    """Windows-1251 OEM code page, native RTF body, three attachments named three ways."""
    rtf = (b"{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}"
           b"{\\colortbl;\\red0\\green0\\blue0;}{\\*\\generator Seeds;}"
           b"\\pard\\f0\\fs20 \\'cf\\'f0\\'e8\\'ed\\'f2\\'e5\\'f0 \\u1085?\\u1077?\\par "
           b"{\\field{\\*\\fldinst HYPERLINK \"http://x.test\"}{\\fldrslt enlace}} "
           b"caf\\'e9\\tab fin\\line \\u-10179?\\u-8704?\\par}")
    msg = props(
        prop(PT_STRING8, 0x0037, b'S' * 150 + b'\0'),  # PR_SUBJECT over libytnef's 100 bytes
        prop(PT_BINARY, 0x1009, lzfu(rtf)),  # PR_RTF_COMPRESSED
        prop(PT_LONG, 0x3FDE, 1251),  # PR_INTERNET_CPID
        prop(PT_STRING8, 0x8001, b'v\0', name='x-ms-exchange-organization-originalclientipaddress'),
        prop(PT_CURRENCY, 0x6001, 12345),
        prop(PT_STRING8 | MV, 0x6002, [b'uno\0', b'dos\0']),
    )
    a1 = props(
        prop(PT_UNICODE, 0x3707, u('Отчёт 📎.pdf')),  # PR_ATTACH_LONG_FILENAME
        prop(PT_STRING8, 0x370E, b'Application/PDF\0'),  # PR_ATTACH_MIME_TAG
        prop(PT_LONG, 0x3705, 1),  # PR_ATTACH_METHOD: by value
    )
    a3 = props(prop(PT_STRING8, 0x3001, 'Сканер 2024.tiff'.encode('cp1251') + b'\0'))
    return stream(
        attr(1, attTnefVersion, struct.pack('<I', 0x10000)),
        attr(1, attOemCodepage, struct.pack('<II', 1251, 0)),
        attr(1, attMessageClass, b'IPM.Microsoft Mail.Note\0'),
        attr(1, attSubject, b'S' * 150 + b'\0'),
        attr(1, attMAPIProps, msg),
        attr(2, attAttachRenddata, struct.pack('<HIHHI', 1, 0, 32, 32, 0)),
        attr(2, attAttachTitle, b'REPORT~1.PDF\0'),
        attr(2, attAttachData, b'%PDF-1.4\n' + bytes(range(256)) * 2),
        attr(2, attAttachMetaFile, b'\x01\x00\x09\x00' + b'\0' * 12000),  # over libytnef's 10000
        attr(2, attAttachment, a1),
        attr(2, attAttachRenddata, struct.pack('<HIHHI', 1, 0, 32, 32, 0)),
        attr(2, attAttachTitle, 'Привет.txt'.encode('cp1251') + b'\0'),
        attr(2, attAttachData, b'hola\r\n'),
        attr(2, attAttachRenddata, struct.pack('<HIHHI', 1, 0, 32, 32, 0)),
        attr(2, attAttachData, b'II*\0' + b'\0' * 12),
        attr(2, attAttachment, a3),
    )


def synthetic_2():
    """PR_BODY as PT_UNICODE beside a down-level body, and an attachment without a name."""
    msg = props(prop(PT_UNICODE, 0x1000, u('Hola,\r\nla impresora no funciona.\r\n\r\n')))
    return stream(
        attr(1, attBody, b'cuerpo antiguo\0'),
        attr(1, attMAPIProps, msg),
        attr(2, attAttachRenddata, struct.pack('<HIHHI', 1, 0, 32, 32, 0)),
        attr(2, attAttachData, b'\x89PNG\r\n\x1a\n'),
    )


def synthetic_3():
    """RTF that encapsulates HTML (\\fromhtml1), stored uncompressed (MELA)."""
    rtf = (b"{\\rtf1\\ansi\\ansicpg1252\\fromhtml1 \\deff0{\\fonttbl{\\f0\\fswiss Arial;}}"
           b"{\\*\\htmltag19 <html>}{\\*\\htmltag34 <head><style>p{}</style></head>}"
           b"{\\*\\htmltag50 <body>}{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Buenos d\\'edas"
           b"\\htmlrtf\\par}\\htmlrtf0{\\*\\htmltag72 </p>}{\\*\\htmltag64 <p>}el "
           b"{\\*\\htmltag84 <b>}\\htmlrtf {\\b \\htmlrtf0 servidor\\htmlrtf }\\htmlrtf0"
           b"{\\*\\htmltag92 </b>} no arranca &amp; nada{\\*\\htmltag72 </p>}"
           b"{\\*\\htmltag58 </body>}{\\*\\htmltag27 </html>}}")
    msg = props(prop(PT_BINARY, 0x1009, mela(rtf)))
    return stream(attr(1, attMAPIProps, msg))


def rich_text_small(eml):
    """MimeKit's sample without its big attachments: the message properties (named properties
    with long names, compressed RTF), the kitten's attachment with 64 bytes of the JPEG, and the
    small embedded message; the attachment icons dropped."""
    m = email.message_from_binary_file(open(eml, 'rb'), policy=policy.compat32)
    tnef = next(p for p in m.walk() if p.get_content_type() == 'application/ms-tnef')
    data = tnef.get_payload(decode=True)
    out = [data[:6]]
    o, n_attach = 6, 0
    while o < len(data):
        level, aid, ln = struct.unpack_from('<BII', data, o)
        body = data[o + 9:o + 9 + ln]
        o += 11 + ln
        if aid == attAttachRenddata:
            n_attach += 1
        if n_attach == 3 or aid == attAttachMetaFile:
            continue
        if aid == attAttachData and n_attach == 1:
            body = body[:64]
        out.append(attr(level, aid, body))
    return b''.join(out)


if __name__ == '__main__':
    corpus_eml = os.path.join(HERE, '..', '..', '..', '..', 'shared', 'corpus', 'messages',
                              'mimekit', 'tnef_rich-text.eml')
    eml = sys.argv[1] if len(sys.argv) > 1 else corpus_eml
    for name, data in (('synthetic-1.tnef', synthetic_1()), ('synthetic-2.tnef', synthetic_2()),
                       ('synthetic-3.tnef', synthetic_3()),
                       ('rich-text-small.tnef', rich_text_small(eml))):
        with open(os.path.join(HERE, name), 'wb') as f:
            f.write(data)
        print(name, len(data))
