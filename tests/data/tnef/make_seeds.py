#!/usr/bin/python3
"""Writes the TNEF files of this directory that are not copies: synthetic-*.tnef, written here from
scratch to reach what the corpus samples do not (code pages, a long named property, RTF forms);
synthetic-note.tnef and synthetic-note.eml, an Outlook message of this project's own with a
compressed RTF body, a file and two embedded messages, and synthetic-report.tnef, a report with
nothing but properties, so that test_tnef.c checks all of that on any checkout; and
rich-text-small.tnef, MimeKit's tnef/rich-text.eml winmail.dat cut down to fit a fuzzer's 64 KB.

Run from anywhere: /usr/bin/python3 tests/data/tnef/make_seeds.py [path/to/tnef_rich-text.eml]
(the .eml defaults to the corpus copy; without it rich-text-small.tnef is left as it is). The
output is deterministic; test_tnef.c checks it."""
import base64
import email
import hashlib
import os
import quopri
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
attMessageID = 0x00018009
attDateSent = 0x00038005

PT_LONG, PT_CURRENCY, PT_OBJECT, PT_STRING8, PT_UNICODE, PT_BINARY = 0x3, 0x6, 0xD, 0x1E, 0x1F, 0x102
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
    if ptype & MV or base in (PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT):
        out += struct.pack('<I', len(values))
    for v in values:
        if base in (PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT):
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


def crc32_rtf(data):
    """MS-OXRTFCP's CRC: the usual table, started at 0 and not inverted at either end."""
    crc = 0
    for b in data:
        c = (crc ^ b) & 0xFF
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        crc = c ^ (crc >> 8)
    return crc


def lzfu_compress(rtf):
    """Compressed RTF as Outlook writes it: greedy longest matches (2..17 bytes, overlapping the
    bytes being written where that is longer) against the 4096-byte dictionary that starts with
    PREBUF, literals otherwise, then the end marker, with the CRC filled in."""
    hist = bytearray(PREBUF)  # everything the dictionary has seen, in order
    items = []
    i = 0
    while i < len(rtf):
        lo = max(0, len(hist) - 4095)  # offset == write position would be the end marker
        best = None
        for n in range(min(17, len(rtf) - i), 1, -1):
            needle = bytes(rtf[i:i + n])
            q = (bytes(hist[lo:]) + needle[:-1]).find(needle)
            if q >= 0:
                best = ('ref', (lo + q) % 4096, n)
                break
        if best is None:
            items.append(('lit', rtf[i]))
            hist.append(rtf[i])
            i += 1
        else:
            items.append(best)
            hist += rtf[i:i + best[2]]
            i += best[2]
    items.append(('ref', len(hist) % 4096, 2))
    out = bytearray()
    for k in range(0, len(items), 8):
        flags, body = 0, bytearray()
        for bit, it in enumerate(items[k:k + 8]):
            if it[0] == 'ref':
                flags |= 1 << bit
                body += struct.pack('>H', it[1] << 4 | (it[2] - 2))
            else:
                body.append(it[1])
        out.append(flags)
        out += body
    out = bytes(out)
    return struct.pack('<IIII', len(out) + 12, len(rtf), 0x75465A4C, crc32_rtf(out)) + out


def rtf_of(text):
    """Outlook-style RTF for plain text: code page 1252, \\'hh for what it has, \\uN? for the
    rest, one \\par per line."""
    body = []
    for line in text.split('\n'):
        out = ''
        for ch in line:
            if ch in '\\{}':
                out += '\\' + ch
            elif ord(ch) < 0x80:
                out += ch
            else:
                try:
                    out += "\\'%02x" % ch.encode('cp1252')[0]
                except UnicodeEncodeError:
                    out += '\\u%d?' % (ord(ch) if ord(ch) < 0x8000 else ord(ch) - 0x10000)
        body.append(out + '\\par\r\n')
    return ('{\\rtf1\\ansi\\ansicpg1252\\deff0\\nouicompat\\deflang3082{\\fonttbl{\\f0\\fswiss'
            '\\fcharset0 Calibri;}}\r\n{\\colortbl ;\\red5\\green99\\blue193;}\r\n'
            '{\\*\\generator Riched20 10.0.19041}\\viewkind4\\uc1 \r\n\\pard\\sa200\\sl276\\slmult1'
            '\\f0\\fs22\\lang10 ' + ''.join(body) + '}\r\n\0').encode('ascii')


def filler(seed, n):
    """n deterministic bytes that do not compress: a SHA-256 chain."""
    out, h = bytearray(), seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


REND = struct.pack('<HIHHI', 1, 0xFFFFFFFF, 32, 32, 0)

NOTE_TEXT = """Hola equipo de soporte:

Desde el lunes la impresora de la tercera planta (HP-3F-02) deja una franja gris en todas las
páginas, también en las copias. Ya hemos cambiado el tóner y limpiado el cabezal desde el panel,
pero la franja sigue saliendo en el mismo sitio de la página.

Os adjunto una foto de una página de prueba y dos correos anteriores sobre el mismo problema:
el de Luis, del martes, y el informe de estado que la impresora envía cada semana.

Pasos que hemos probado:
- cambiar el tóner negro (el cartucho nuevo costó 89 €)
- limpiar el cabezal desde el panel
- imprimir la misma página desde otro ordenador
- imprimir la misma página desde otra bandeja

La impresora de la segunda planta imprime bien la misma página.
Referencia del contrato de mantenimiento → MNT-2024-117

Gracias,
Carmen Ortega
Administración, tercera planta
Ext. 4417"""

INNER_REPLY_TEXT = "La franja aparece también en las copias, no solo al imprimir.\r\nLuis\r\n"

REPORT_TEXT = """Informe semanal de la impresora HP-3F-02

Páginas impresas: 4.812
Nivel de tóner negro: 12 %
Estado del fusor: correcto
Último error: 59.F0 (franja en el tambor)"""

STATUS_LOG = ''.join('2024-03-%02d 08:00 HP-3F-02 pages=%d toner=%d%% fuser=ok\r\n'
                     % (d, 4000 + 117 * d, 40 - d) for d in range(1, 15)).encode('ascii')


def note_inner_reply():
    """The first embedded message: a plain PR_BODY, no attachment."""
    msg = props(
        prop(PT_STRING8, 0x0037, b'RE: Franja gris en la impresora\0'),  # PR_SUBJECT
        prop(PT_STRING8, 0x0C1A, b'Luis Prieto\0'),  # PR_SENDER_NAME
        prop(PT_STRING8, 0x1000, INNER_REPLY_TEXT.encode('cp1252') + b'\0'),  # PR_BODY
    )
    return stream(
        attr(1, attTnefVersion, struct.pack('<I', 0x10000)),
        attr(1, attOemCodepage, struct.pack('<II', 1252, 0)),
        attr(1, attMessageClass, b'IPM.Note\0'),
        attr(1, attSubject, b'RE: Franja gris en la impresora\0'),
        attr(1, attMAPIProps, msg),
    )


def note_inner_report():
    """The second embedded message: compressed RTF and one file named only by its title."""
    msg = props(
        prop(PT_STRING8, 0x0037, b'Informe de estado HP-3F-02\0'),
        prop(PT_BINARY, 0x1009, lzfu_compress(rtf_of(REPORT_TEXT))),
    )
    return stream(
        attr(1, attTnefVersion, struct.pack('<I', 0x10000)),
        attr(1, attOemCodepage, struct.pack('<II', 1252, 0)),
        attr(1, attMessageClass, b'IPM.Note\0'),
        attr(1, attSubject, b'Informe de estado HP-3F-02\0'),
        attr(1, attMAPIProps, msg),
        attr(2, attAttachRenddata, REND),
        attr(2, attAttachTitle, b'estado.log\0'),
        attr(2, attAttachData, STATUS_LOG),
    )


IID_IMESSAGE = b'\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46'

NOTE_JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00' + \
    filler('note-photo', 2970) + b'\xff\xd9'


def embedded(display, inner):
    return props(
        prop(PT_STRING8, 0x3001, display.encode('cp1252') + b'\0'),  # PR_DISPLAY_NAME
        prop(PT_LONG, 0x3705, 5),  # PR_ATTACH_METHOD: embedded message
        prop(PT_OBJECT, 0x3701, IID_IMESSAGE + inner),  # PR_ATTACH_DATA_OBJ
    )


def synthetic_note():
    """An Outlook message: compressed RTF body (references and literals), a photo named in code
    page 1252 with a MIME tag, and two embedded messages, themselves TNEF."""
    msg = props(
        prop(PT_STRING8, 0x0037, b'Franja gris en la impresora de la 3\xaa planta\0'),
        prop(PT_LONG, 0x3FDE, 1252),  # PR_INTERNET_CPID
        prop(PT_BINARY, 0x1009, lzfu_compress(rtf_of(NOTE_TEXT))),  # PR_RTF_COMPRESSED
        prop(PT_LONG, 0x8005, 1, name='x-ms-has-attach'),
    )
    photo = props(
        prop(PT_STRING8, 0x3707, 'página de prueba.jpg'.encode('cp1252') + b'\0'),
        prop(PT_STRING8, 0x370E, b'image/jpeg\0'),  # PR_ATTACH_MIME_TAG
        prop(PT_LONG, 0x3705, 1),
    )
    return stream(
        attr(1, attTnefVersion, struct.pack('<I', 0x10000)),
        attr(1, attOemCodepage, struct.pack('<II', 1252, 0)),
        attr(1, attMessageClass, b'IPM.Note\0'),
        attr(1, attMessageID, b'00000000A1B2C3D4E5F60718293A4B5C6D7E8F90\0'),
        attr(1, attSubject, b'Franja gris en la impresora de la 3\xaa planta\0'),
        attr(1, attDateSent, struct.pack('<8H', 2024, 3, 14, 9, 41, 7, 4, 0)[:14]),
        attr(1, attMAPIProps, msg),
        attr(2, attAttachRenddata, REND),
        attr(2, attAttachTitle, b'PAGINA~1.JPG\0'),
        attr(2, attAttachData, NOTE_JPEG),
        attr(2, attAttachment, photo),
        attr(2, attAttachRenddata, REND),
        attr(2, attAttachTitle, b'RE: Franja gris en la impresora\0'),
        attr(2, attAttachment, embedded('RE: Franja gris en la impresora', note_inner_reply())),
        attr(2, attAttachRenddata, REND),
        attr(2, attAttachTitle, b'Informe de estado HP-3F-02\0'),
        attr(2, attAttachment, embedded('Informe de estado HP-3F-02', note_inner_report())),
    )


def synthetic_note_eml(tnef):
    """The message that carries synthetic-note.tnef, as Outlook sends it: the text in UTF-8
    (it has a character that code page 1252 lacks) quoted-printable beside winmail.dat, CRLF
    line ends."""
    text = quopri.encodestring(NOTE_TEXT.encode('utf-8') + b'\n')
    b64 = base64.encodebytes(tnef).replace(b'\n', b'\r\n')
    head = ('From: "Ortega, Carmen" <carmen.ortega@admin.example.es>\r\n'
            'To: Soporte <soporte@example.com>\r\n'
            'Subject: Franja gris en la impresora de la =?windows-1252?Q?3=AA?= planta\r\n'
            'Date: Thu, 14 Mar 2024 09:41:07 +0100\r\n'
            'Message-ID: <DB9PR05MB8123A1B2C3D4E5F6@DB9PR05MB8123.eurprd05.prod.example.es>\r\n'
            'MIME-Version: 1.0\r\n'
            'X-Mailer: Microsoft Outlook 16.0\r\n'
            'Content-Language: es-ES\r\n'
            'X-MS-Has-Attach: yes\r\n'
            'X-MS-TNEF-Correlator: <DB9PR05MB8123A1B2C3D4E5F6@DB9PR05MB8123.eurprd05.prod.example.es>\r\n'
            'Content-Type: multipart/mixed;\r\n\tboundary="_000_DB9PR05MB8123_"\r\n'
            '\r\n').encode('ascii')
    return (head + b'--_000_DB9PR05MB8123_\r\n'
            b'Content-Type: text/plain; charset="utf-8"\r\n'
            b'Content-Transfer-Encoding: quoted-printable\r\n\r\n' +
            text.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n') +
            b'\r\n--_000_DB9PR05MB8123_\r\n'
            b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
            b'Content-Disposition: attachment; filename="winmail.dat"\r\n'
            b'Content-Transfer-Encoding: base64\r\n\r\n' + b64 +
            b'\r\n--_000_DB9PR05MB8123_--\r\n')


def synthetic_report():
    """A report as Exchange-style systems send it: message properties only, no attachment, no
    text of any kind."""
    msg = props(
        prop(PT_STRING8, 0x001A, b'REPORT.IPM.Note.NDR\0'),  # PR_MESSAGE_CLASS
        prop(PT_STRING8, 0x0037, b'Undeliverable: Franja gris\0'),
        prop(PT_LONG, 0x0C04, 1),  # PR_NDR_REASON_CODE
        prop(PT_LONG, 0x0C05, 14),  # PR_NDR_DIAG_CODE
        prop(PT_UNICODE, 0x0E04, u('Carmen Ortega')),  # PR_DISPLAY_TO
    )
    return stream(
        attr(1, attTnefVersion, struct.pack('<I', 0x10000)),
        attr(1, attOemCodepage, struct.pack('<II', 1252, 0)),
        attr(1, attMessageClass, b'REPORT.IPM.Note.NDR\0'),
        attr(1, attMAPIProps, msg),
    )


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
    note = synthetic_note()
    outputs = [('synthetic-1.tnef', synthetic_1()), ('synthetic-2.tnef', synthetic_2()),
               ('synthetic-3.tnef', synthetic_3()), ('synthetic-note.tnef', note),
               ('synthetic-note.eml', synthetic_note_eml(note)),
               ('synthetic-report.tnef', synthetic_report())]
    if os.path.exists(eml):
        outputs.append(('rich-text-small.tnef', rich_text_small(eml)))
    else:
        print('%s not found: rich-text-small.tnef left as it is' % eml)
    for name, data in outputs:
        with open(os.path.join(HERE, name), 'wb') as f:
            f.write(data)
        print(name, len(data), hashlib.sha256(data).hexdigest())
