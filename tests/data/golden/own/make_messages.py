#!/usr/bin/python3
"""Writes the messages of this directory: mail of the kinds a service desk receives, written for this
project from scratch (people, addresses and texts are made up; binary parts are deterministic filler), one
or more per category of test_golden.py's REQUIRED_COVERS, so the golden test has inputs on any checkout.
Each NAME.eml has a NAME.json beside it, written by hand from the text below, never from spocd's output.

Run from anywhere: /usr/bin/python3 tests/data/golden/own/make_messages.py
The output is deterministic; the .eml files are committed, and the bytes are what the goldens describe
(line endings included: .gitattributes keeps git from touching tests/data)."""
import base64
import binascii
import hashlib
import os
import quopri
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def filler(seed, n):
    """n deterministic bytes that do not compress: a SHA-256 chain."""
    out, h = bytearray(), seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


def b64(data, eol):
    return base64.encodebytes(data).replace(b'\n', eol)


def qp(text, charset):
    return quopri.encodestring(text.encode(charset))


def q_word(text, charset):
    """One RFC 2047 Q encoded-word."""
    out = ''
    for b in text.encode(charset):
        c = chr(b)
        if c == ' ':
            out += '_'
        elif c.isascii() and (c.isalnum() or c in '!*+-/'):
            out += c
        else:
            out += '=%02X' % b
    return '=?%s?Q?%s?=' % (charset, out)


def b_word(text, charset):
    """One RFC 2047 B encoded-word."""
    return '=?%s?B?%s?=' % (charset, base64.b64encode(text.encode(charset)).decode('ascii'))


def message(head, body, eol=b'\n', head_charset='ascii'):
    """head: header lines as one str with \\n; body: bytes with \\n line ends. Both get eol."""
    raw = head.strip('\n').encode(head_charset) + b'\n\n' + body
    return raw.replace(b'\r\n', b'\n').replace(b'\n', eol)


# ---------------------------------------------------------------------------------------- replies

def outlook_reply_es():
    text = """Hola Marta:

Ya funciona, gracias. El técnico cambió el fusor esta mañana y la impresora vuelve a imprimir
sin atascos.

Un saludo,
Andrés Peña
Contabilidad – Ext. 2231

________________________________
De: Marta Gil <soporte@example.com>
Enviado: martes, 12 de marzo de 2024 10:15
Para: Andrés Peña <andres.pena@example.es>
Asunto: [INC-000482] Impresora atascada en la 3ª planta

Hola Andrés:

¿Puedes comprobar si la impresora sigue atascándose después del cambio de fusor?

Marta
Centro de Servicios
"""
    html = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=Windows-1252"></head>
<body><div>Hola Marta:</div><div><br></div>
<div>Ya funciona, gracias. El t&eacute;cnico cambi&oacute; el fusor esta ma&ntilde;ana y la impresora vuelve
a imprimir sin atascos.</div><div><br></div><div>Un saludo,<br>Andr&eacute;s Pe&ntilde;a<br>
Contabilidad &#8211; Ext. 2231</div>
<hr><div id="divRplyFwdMsg"><b>De:</b> Marta Gil &lt;soporte@example.com&gt;<br><b>Enviado:</b> martes,
12 de marzo de 2024 10:15<br><b>Para:</b> Andr&eacute;s Pe&ntilde;a &lt;andres.pena@example.es&gt;<br>
<b>Asunto:</b> [INC-000482] Impresora atascada en la 3&#170; planta</div>
<div>Hola Andr&eacute;s:</div><div>&iquest;Puedes comprobar si la impresora sigue atasc&aacute;ndose despu&eacute;s
del cambio de fusor?</div><div>Marta<br>Centro de Servicios</div></body></html>
"""
    head = f"""From: {q_word('Andrés Peña', 'windows-1252')} <andres.pena@example.es>
To: Centro de Servicios <soporte@example.com>
Subject: {q_word('RE: [INC-000482] Impresora atascada en la 3ª planta', 'windows-1252')}
Thread-Topic: [INC-000482] Impresora atascada en la 3a planta
Thread-Index: AQHadGx0c3RvcmVzYWJjZGVmZ2hpams=
Date: Tue, 12 Mar 2024 11:02:33 +0000
Message-ID: <AM0PR07MB44170A1B2C3D4E5F@AM0PR07MB4417.eurprd07.prod.example.es>
References: <inc-000482-1@desk.example.com> <inc-000482-2@desk.example.com>
In-Reply-To: <inc-000482-2@desk.example.com>
Accept-Language: es-ES, en-US
Content-Language: es-ES
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR07MB44170A1B2C3D4E5F_"
"""
    body = (b'--_000_AM0PR07MB44170A1B2C3D4E5F_\n'
            b'Content-Type: text/plain; charset="Windows-1252"\n'
            b'Content-Transfer-Encoding: quoted-printable\n\n' + qp(text, 'cp1252') + b'\n'
            b'--_000_AM0PR07MB44170A1B2C3D4E5F_\n'
            b'Content-Type: text/html; charset="Windows-1252"\n'
            b'Content-Transfer-Encoding: quoted-printable\n\n' + qp(html, 'cp1252') + b'\n'
            b'--_000_AM0PR07MB44170A1B2C3D4E5F_--\n')
    return message(head, body, b'\r\n')


def gmail_reply():
    text = """Hi,

It happened again this morning at 09:40 and at 09:52. I'm on the office Wi-Fi with laptop
HP-LT-0231. The client log you asked for:

  09:40:12 tunnel down (DPD timeout)
  09:40:15 reconnecting to vpn.example.com

Thanks,
Daniel

-- 
Daniel Moore
Finance team, 2nd floor

On Tue, 12 Mar 2024 at 08:15, Service Desk <desk@example.com> wrote:

> Hello Daniel,
>
> Could you tell us when the VPN drops, and send us the client log?
>
> Service Desk
>
"""
    html = """<div dir="ltr"><div>Hi,</div><div><br></div><div>It happened again this morning at 09:40 and at
09:52. I&#39;m on the office Wi-Fi with laptop HP-LT-0231. The client log you asked for:</div><div><br></div>
<div>  09:40:12 tunnel down (DPD timeout)</div><div>  09:40:15 reconnecting to vpn.example.com</div>
<div><br></div><div>Thanks,</div><div>Daniel</div><div><br></div>-- <br><div dir="ltr" class="gmail_signature">
Daniel Moore<br>Finance team, 2nd floor</div></div><br><div class="gmail_quote"><div dir="ltr"
class="gmail_attr">On Tue, 12 Mar 2024 at 08:15, Service Desk &lt;<a href="mailto:desk@example.com">desk@example.com</a>&gt;
wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Hello Daniel,<br><br>Could you
tell us when the VPN drops, and send us the client log?<br><br>Service Desk<br></blockquote></div>
"""
    head = """MIME-Version: 1.0
References: <inc-000517-1@desk.example.com>
In-Reply-To: <inc-000517-1@desk.example.com>
From: Daniel Moore <daniel.moore@example.net>
Date: Tue, 12 Mar 2024 10:03:41 +0000
Message-ID: <CAH7tQ9xZb4o0GkU1v2mQf0aQ3v+KXrN8d5s@mail.gmail.com>
Subject: Re: [INC-000517] VPN drops every 10 minutes
To: Service Desk <desk@example.com>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3061370d4e5"
"""
    body = (b'--000000000000a1b2c3061370d4e5\n'
            b'Content-Type: text/plain; charset="UTF-8"\n'
            b'Content-Transfer-Encoding: quoted-printable\n\n' + qp(text, 'utf-8') + b'\n'
            b'--000000000000a1b2c3061370d4e5\n'
            b'Content-Type: text/html; charset="UTF-8"\n'
            b'Content-Transfer-Encoding: quoted-printable\n\n' + qp(html, 'utf-8') + b'\n'
            b'--000000000000a1b2c3061370d4e5--\n')
    return message(head, body, b'\r\n')


def apple_reply():
    text = """Yes, the projector in room B2 shows my screen now. Thank you!

Laura

> On 12 Mar 2024, at 16:20, Service Desk <desk@example.com> wrote:
> 
> Hello Laura,
> 
> we replaced the HDMI cable in room B2. Could you check that the projector shows your screen?
> 
> Service Desk
"""
    head = f"""From: {q_word('Laura Sánchez', 'utf-8')} <laura.sanchez@example.org>
Content-Type: text/plain;
\tcharset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.500.171.1.1\\))
Subject: Re: [INC-000533] Projector in room B2
Date: Tue, 12 Mar 2024 17:05:12 +0100
References: <inc-000533-2@desk.example.com>
To: Service Desk <desk@example.com>
In-Reply-To: <inc-000533-2@desk.example.com>
Message-Id: <8D2F7E1A-3B4C-4D5E-9F60-A1B2C3D4E5F6@example.org>
X-Mailer: Apple Mail (2.3774.500.171.1.1)
"""
    return message(head, qp(text, 'utf-8'))


def thunderbird_reply():
    text = """El 12/03/2024 a las 9:30, Centro de Servicios escribió:
> Hola José:
>
> ¿Está ya configurado el portátil nuevo de compras?
>
> Centro de Servicios

Buenos días:

El portátil nuevo ya está configurado, pero falta la licencia de la hoja de 
cálculo. El presupuesto aprobado era de 120 € por puesto.

Un saludo,
José

-- 
José Navarro
Compras
"""
    head = """Message-ID: <5b1f0c3e-7a2d-4e9b-8c11-2f6d0e4a9b73@example.es>
Date: Tue, 12 Mar 2024 10:12:55 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: [INC-000540] =?UTF-8?Q?Port=C3=A1til_nuevo_de_compras?=
Content-Language: es-ES
To: Centro de Servicios <soporte@example.com>
References: <inc-000540-1@desk.example.com>
From: =?UTF-8?Q?Jos=C3=A9_Navarro?= <jose.navarro@example.es>
In-Reply-To: <inc-000540-1@desk.example.com>
Content-Type: text/plain; charset=ISO-8859-15; format=flowed
Content-Transfer-Encoding: 8bit
"""
    return message(head, text.encode('iso-8859-15'))


def forward():
    text = """Hi team,

could you have a look at the message below? The supplier says our portal rejects the
invoice, and I cannot see why.

Emma

---------- Forwarded message ---------
From: Facturación Proveedores <facturas@proveedor.example>
Date: Mon, 11 Mar 2024 at 17:02
Subject: Factura 2024-0311 rechazada
To: <emma.wilson@example.com>


Buenas tardes,

el portal devuelve el error «NIF no válido» al subir la factura 2024-0311.

Saludos,
Departamento de facturación
"""
    head = """From: Emma Wilson <emma.wilson@example.com>
To: Service Desk <desk@example.com>
Subject: Fwd: Factura 2024-0311 rechazada
Date: Tue, 12 Mar 2024 09:01:00 +0000
Message-ID: <fwd-2024-0311.emma@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable
"""
    return message(head, qp(text, 'latin-1'), b'\r\n')


# ---------------------------------------------------------------------------------------- structure

def html_only_koi8r():
    html = """<html>
<head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head>
<body>
<p>Здравствуйте!</p>
<p>Принтер в кабинете 214 не печатает с утра, на экране ошибка <b>E-05</b>.</p>
<p>Спасибо,<br>Ольга</p>
</body>
</html>
"""
    head = f"""From: {b_word('Ольга Смирнова', 'koi8-r')} <olga.smirnova@example.ru>
To: helpdesk@example.com
Subject: {b_word('Не работает принтер', 'koi8-r')}
Date: Wed, 13 Mar 2024 08:45:10 +0300
Message-ID: <20240313084510.4471@mail.example.ru>
MIME-Version: 1.0
Content-Type: text/html; charset=koi8-r
Content-Transfer-Encoding: 8bit
"""
    return message(head, html.encode('koi8-r'))


PNG = b'\x89PNG\r\n\x1a\n' + filler('error.png', 1492)
PDF = b'%PDF-1.4\n' + filler('report.pdf', 3991)


def related_inline_image():
    text = """The error appears when I open the shared calendar:

[image: error.png]

The full report is attached.

Tom
"""
    html = """<div dir="ltr">The error appears when I open the shared calendar:<div><br></div><div><img
src="cid:ii_lt1abc0" alt="error.png" width="320" height="120"><br></div><div><br></div><div>The full report
is attached.</div><div><br></div><div>Tom</div></div>
"""
    head = """MIME-Version: 1.0
From: Tom Baker <tom.baker@example.net>
Date: Wed, 13 Mar 2024 11:20:00 +0000
Message-ID: <CAJ9dZk1a2B3c4D5e6F7g8H9i0Jx+tom@mail.gmail.com>
Subject: Shared calendar error
To: desk@example.com
Content-Type: multipart/mixed; boundary="000000000000m1x3d"
"""
    body = (b'--000000000000m1x3d\n'
            b'Content-Type: multipart/related; boundary="000000000000r3l4t3d"\n\n'
            b'--000000000000r3l4t3d\n'
            b'Content-Type: multipart/alternative; boundary="000000000000a1t3rn"\n\n'
            b'--000000000000a1t3rn\n'
            b'Content-Type: text/plain; charset="UTF-8"\n\n' + text.encode('ascii') + b'\n'
            b'--000000000000a1t3rn\n'
            b'Content-Type: text/html; charset="UTF-8"\n\n' + html.encode('ascii') + b'\n'
            b'--000000000000a1t3rn--\n\n'
            b'--000000000000r3l4t3d\n'
            b'Content-Type: image/png; name="error.png"\n'
            b'Content-Disposition: inline; filename="error.png"\n'
            b'Content-Transfer-Encoding: base64\n'
            b'Content-ID: <ii_lt1abc0>\n'
            b'X-Attachment-Id: ii_lt1abc0\n\n' + b64(PNG, b'\n') +
            b'--000000000000r3l4t3d--\n'
            b'--000000000000m1x3d\n'
            b'Content-Type: application/pdf; name="report.pdf"\n'
            b'Content-Disposition: attachment; filename="report.pdf"\n'
            b'Content-Transfer-Encoding: base64\n'
            b'X-Attachment-Id: f_lt1abc1\n\n' + b64(PDF, b'\n') +
            b'--000000000000m1x3d--\n')
    return message(head, body, b'\r\n')


INVOICE_MAIL = b"""From: Billing <billing@supplier.example>
To: Paula Reyes <paula.reyes@example.com>
Subject: Invoice 88123 overdue
Date: Fri, 08 Mar 2024 12:00:00 +0000
Message-ID: <inv-88123-reminder@supplier.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Dear customer,

invoice 88123 is now 30 days overdue. Please pay it within 7 days.

Billing department
"""
INVOICE_PDF = b'%PDF-1.5\n' + filler('invoice-88123', 2047)


def nested_rfc822():
    text = """Hello,

I am forwarding the supplier's reminder as an attachment, with the invoice it refers to. Could
you tell me whether the payment left last week?

Regards,
Paula
"""
    head = """From: Paula Reyes <paula.reyes@example.com>
To: desk@example.com
Subject: Supplier reminder about invoice 88123
Date: Mon, 11 Mar 2024 09:30:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_17_1234.5678"
"""
    body = (b'This is a multi-part message in MIME format.\n\n'
            b'------=_Part_17_1234.5678\n'
            b'Content-Type: text/plain; charset=us-ascii\n\n' + text.encode('ascii') + b'\n'
            b'------=_Part_17_1234.5678\n'
            b'Content-Type: message/rfc822\n'
            b'Content-Disposition: attachment\n\n' + INVOICE_MAIL + b'\n'
            b'------=_Part_17_1234.5678\n'
            b'Content-Type: application/pdf;\n'
            b" name*0*=utf-8''Factura%20n%C2%BA%2088123%20%E2%80%93%20;\n"
            b' name*1*=marzo%202024.pdf\n'
            b'Content-Disposition: attachment;\n'
            b" filename*0*=utf-8''Factura%20n%C2%BA%2088123%20%E2%80%93%20;\n"
            b' filename*1*=marzo%202024.pdf\n'
            b'Content-Transfer-Encoding: base64\n\n' + b64(INVOICE_PDF, b'\n') + b'\n'
            b'------=_Part_17_1234.5678--\n')
    return message(head, body)


DIGEST_1 = b"""From: Network Team <net@example.org>
To: it-announce@lists.example.org
Subject: Planned outage Saturday
Date: Thu, 14 Mar 2024 08:00:00 +0000
Message-ID: <outage-0316@example.org>

The core switches will be replaced on Saturday between 07:00 and 11:00.
"""
DIGEST_2 = b"""From: Print Services <print@example.org>
To: it-announce@lists.example.org
Subject: New printer queue
Date: Thu, 14 Mar 2024 09:30:00 +0000
Message-ID: <queue-b2@example.org>

From Monday, print to the queue "B2-colour" for the new printer in room B2.
"""


def digest():
    text = """Send IT-announce mailing list submissions to
	it-announce@lists.example.org

Today's Topics:

   1. Planned outage Saturday (Network Team)
   2. New printer queue (Print Services)
"""
    head = """From: it-announce-request@lists.example.org
Subject: IT-announce Digest, Vol 12, Issue 3
To: it-announce@lists.example.org
Reply-To: it-announce@lists.example.org
Date: Thu, 14 Mar 2024 12:00:02 +0000
Message-ID: <mailman.3.1710417602.4471.it-announce@lists.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="===============1710417602=="
List-Id: IT announcements <it-announce.lists.example.org>
Precedence: list
"""
    body = (b'--===============1710417602==\n'
            b'Content-Type: text/plain; charset="us-ascii"\n'
            b'Content-Transfer-Encoding: 7bit\n'
            b'Content-Description: IT-announce Digest, Vol 12, Issue 3\n\n' + text.encode('ascii') + b'\n'
            b'--===============1710417602==\n'
            b'Content-Type: multipart/digest; boundary="===============0315=="\n\n'
            b'--===============0315==\n\n' + DIGEST_1 + b'\n'
            b'--===============0315==\n\n' + DIGEST_2 + b'\n'
            b'--===============0315==--\n\n'
            b'--===============1710417602==--\n')
    return message(head, body)


ICS = """BEGIN:VCALENDAR
PRODID:-//Example//Calendar 1.0//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REQUEST
BEGIN:VEVENT
DTSTART:20240321T130000Z
DTEND:20240321T140000Z
DTSTAMP:20240314T100000Z
ORGANIZER;CN=Facilities:mailto:facilities@example.com
UID:printer-maintenance-20240321@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=desk@example.com:mailto:desk@example.com
SUMMARY:Printer maintenance
LOCATION:Room B2
SEQUENCE:0
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR
""".replace('\n', '\r\n').encode('ascii')


def calendar():
    text = """You have been invited to the following event.

Printer maintenance
Thursday 21 March 2024, 14:00 - 15:00 (Central European Time)
Room B2

The technician needs access to the printers of room B2 for one hour.
"""
    html = """<p>You have been invited to the following event.</p><h3>Printer maintenance</h3>
<p>Thursday 21 March 2024, 14:00 - 15:00 (Central European Time)<br>Room B2</p>
<p>The technician needs access to the printers of room B2 for one hour.</p>
"""
    head = """From: Facilities <facilities@example.com>
To: desk@example.com
Subject: Invitation: Printer maintenance @ Thu 21 Mar 2024 14:00 - 15:00 (CET)
Date: Thu, 14 Mar 2024 10:00:00 +0000
Message-ID: <inv-printer-maintenance-20240321@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="0000000000008c1a"
"""
    body = (b'--0000000000008c1a\n'
            b'Content-Type: multipart/alternative; boundary="0000000000008c18"\n\n'
            b'--0000000000008c18\n'
            b'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes\n'
            b'Content-Transfer-Encoding: 7bit\n\n' + text.encode('ascii') + b'\n'
            b'--0000000000008c18\n'
            b'Content-Type: text/html; charset="UTF-8"\n\n' + html.encode('ascii') + b'\n'
            b'--0000000000008c18\n'
            b'Content-Type: text/calendar; charset="UTF-8"; method=REQUEST\n'
            b'Content-Transfer-Encoding: 7bit\n\n' + ICS.replace(b'\r\n', b'\n') + b'\n'
            b'--0000000000008c18--\n\n'
            b'--0000000000008c1a\n'
            b'Content-Type: application/ics; name="invite.ics"\n'
            b'Content-Disposition: attachment; filename="invite.ics"\n'
            b'Content-Transfer-Encoding: base64\n\n' + b64(ICS, b'\n') + b'\n'
            b'--0000000000008c1a--\n')
    return message(head, body, b'\r\n')


BACKUP_LOG = ''.join('2024-03-%02d 02:00:%02d backup FS-02 share=%s status=%s\n'
                     % (d, d * 3 % 60, ('finance', 'hr', 'projects')[d % 3],
                        'ok' if d < 8 else 'FAILED: target volume full')
                     for d in range(1, 13)).encode('ascii')


def uuencode():
    text = """Hello,

the nightly backup of FS-02 fails since Friday. I put its log below.

Regards,
Kim Lee
"""
    uu = b'begin 644 backup.log\n'
    for i in range(0, len(BACKUP_LOG), 45):
        uu += binascii.b2a_uu(BACKUP_LOG[i:i + 45], backtick=True)
    uu += b'`\nend\n'
    head = """From: Kim Lee <kim.lee@example.com>
To: desk@example.com
Subject: Nightly backup of FS-02 fails
Date: Tue, 12 Mar 2024 07:55:00 +0000
Message-ID: <backup-fs02-0312@example.com>
X-Mailer: Lotus Notes Release 9.0.1
"""
    return message(head, text.encode('ascii') + b'\n' + uu)


def signed():
    text = """Hello,

please revoke the access badge 40417 of Mark Evans, who left the company on Friday.

Best regards,
Sarah Hughes
HR department
"""
    sig = (b'-----BEGIN PGP SIGNATURE-----\n\n' + b64(filler('signature', 119), b'\n') +
           b'=Zk3q\n-----END PGP SIGNATURE-----\n')
    head = """Message-ID: <7c1e9a52-hr-badge-40417@example.com>
Date: Wed, 13 Mar 2024 15:10:00 +0000
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-GB
To: desk@example.com
From: Sarah Hughes <sarah.hughes@example.com>
Subject: Revoke badge 40417
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature";
 boundary="------------sig0A1B2C3D4E5F"
"""
    body = (b'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n'
            b'--------------sig0A1B2C3D4E5F\n'
            b'Content-Type: text/plain; charset=UTF-8; format=flowed\n'
            b'Content-Transfer-Encoding: 7bit\n\n' + text.encode('ascii') + b'\n'
            b'--------------sig0A1B2C3D4E5F\n'
            b'Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"\n'
            b'Content-Description: OpenPGP digital signature\n'
            b'Content-Disposition: attachment; filename="OpenPGP_signature.asc"\n\n' + sig + b'\n'
            b'--------------sig0A1B2C3D4E5F--\n')
    return message(head, body, b'\r\n')


def encrypted():
    armour = (b'-----BEGIN PGP MESSAGE-----\n\n' + b64(filler('ciphertext', 600), b'\n') +
              b'=r7Vx\n-----END PGP MESSAGE-----\n')
    head = """From: Sarah Hughes <sarah.hughes@example.com>
To: desk@example.com
Subject: Salary file access
Date: Wed, 13 Mar 2024 15:20:00 +0000
Message-ID: <enc-7d2e-salary@example.com>
MIME-Version: 1.0
Content-Type: multipart/encrypted;
 protocol="application/pgp-encrypted";
 boundary="------------enc9F8E7D6C5B4A"
"""
    body = (b'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n'
            b'--------------enc9F8E7D6C5B4A\n'
            b'Content-Type: application/pgp-encrypted\n'
            b'Content-Description: PGP/MIME version identification\n\n'
            b'Version: 1\n\n'
            b'--------------enc9F8E7D6C5B4A\n'
            b'Content-Type: application/octet-stream; name="encrypted.asc"\n'
            b'Content-Description: OpenPGP encrypted message\n'
            b'Content-Disposition: inline; filename="encrypted.asc"\n\n' + armour + b'\n'
            b'--------------enc9F8E7D6C5B4A--\n')
    return message(head, body)


# ---------------------------------------------------------------------------------------- charsets

def iso_2022_jp():
    text = """サポートご担当者様

3階のプリンターが朝から動きません。
画面には「用紙詰まり」と表示されていますが、紙は詰まっていません。

よろしくお願いいたします。
田中
"""
    head = f"""From: {b_word('田中 浩', 'iso-2022-jp')} <tanaka.hiroshi@example.jp>
To: support@example.com
Subject: {b_word('プリンターが', 'iso-2022-jp')}
 {b_word('動きません', 'iso-2022-jp')}
Date: Thu, 14 Mar 2024 09:12:00 +0900
Message-ID: <20240314091200.8810@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit
"""
    return message(head, text.encode('iso-2022-jp'))


def shift_jis():
    text = """お疲れ様です。営業部の佐藤です。

パスワードの有効期限が切れて、ログインできなくなりました。
再設定をお願いできますでしょうか。

佐藤
"""
    head = f"""From: {b_word('佐藤 美咲', 'shift_jis')} <sato.misaki@example.jp>
To: support@example.com
Subject: {b_word('パスワードの再設定', 'shift_jis')}
Date: Thu, 14 Mar 2024 10:30:00 +0900
Message-ID: <sjis-20240314103000@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset=Shift_JIS
Content-Transfer-Encoding: 8bit
X-Mailer: Becky! ver. 2.81.04
"""
    return message(head, text.encode('shift_jis'), b'\r\n')


def gb2312():
    text = """你好，

会议室的打印机无法连接网络，屏幕显示“IP 地址冲突”。

谢谢！
王伟
"""
    head = f"""From: {b_word('王伟', 'gb2312')} <wang.wei@example.cn>
To: support@example.com
Subject: {b_word('打印机无法连接网络', 'gb2312')}
Date: Thu, 14 Mar 2024 11:00:00 +0800
Message-ID: <gb-20240314110000.wangwei@example.cn>
MIME-Version: 1.0
Content-Type: text/plain; charset="gb2312"
Content-Transfer-Encoding: base64
"""
    return message(head, b64(text.encode('gb2312'), b'\n'), b'\r\n')


def big5():
    text = """您好：

我的電腦無法開啟共用資料夾，請協助重設權限。

謝謝
陳雅婷
"""
    head = f"""From: {b_word('陳雅婷', 'big5')} <chen.yating@example.tw>
To: support@example.com
Subject: {b_word('無法開啟共用資料夾', 'big5')}
Date: Thu, 14 Mar 2024 11:30:00 +0800
Message-ID: <big5-20240314113000@example.tw>
MIME-Version: 1.0
Content-Type: text/plain; charset="big5"
Content-Transfer-Encoding: quoted-printable
"""
    return message(head, qp(text, 'big5'))


def windows_1251():
    text = """Добрый день!

Прошу подключить мне доступ к папке «Бухгалтерия» на сервере FS-01.

С уважением,
Ирина Козлова
"""
    head = f"""From: {b_word('Ирина Козлова', 'windows-1251')} <irina.kozlova@example.ru>
To: helpdesk@example.com
Subject: {b_word('Доступ к папке', 'windows-1251')}
Date: Thu, 14 Mar 2024 12:15:00 +0300
Message-ID: <cp1251-20240314121500@example.ru>
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1251"
Content-Transfer-Encoding: 8bit
X-Mailer: Microsoft Outlook Express 6.00.2900.5512
"""
    return message(head, text.encode('cp1251'), b'\r\n')


def utf_7():
    text = """Hola:

la contraseña de la wifi de invitados no funciona desde esta mañana. ¿Podéis revisarla?

Gracias,
Nuria
"""
    head = """From: Nuria Soler <nuria.soler@example.es>
To: soporte@example.com
Subject: Wifi de invitados
Date: Thu, 14 Mar 2024 13:00:00 +0100
Message-ID: <utf7-20240314130000@example.es>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-7"
Content-Transfer-Encoding: 7bit
"""
    return message(head, text.encode('utf-7'), b'\r\n')


def unknown_charset():
    text = """Hello,

the café machine on floor 4 shows "Entkalken" on its display. Could someone from
facilities look at it?

Thanks,
Jon
"""
    head = """From: Jon Berg <jon.berg@example.no>
To: desk@example.com
Subject: Coffee machine on floor 4
Date: Thu, 14 Mar 2024 13:30:00 +0100
Message-ID: <xunk-20240314133000@example.no>
MIME-Version: 1.0
Content-Type: text/plain; charset="x-mac-nordic-42"
Content-Transfer-Encoding: 8bit
"""
    return message(head, text.encode('utf-8'))


def eight_bit_header():
    text = """Hola:

la contraseña del portátil ha caducado y no me deja cambiarla: dice que la nueva no cumple
la política, pero tiene doce caracteres, mayúsculas y números.

Gracias,
Begoña
"""
    head = """From: Begoña Ibáñez <begona.ibanez@example.es>
To: Soporte <soporte@example.com>
Subject: Contraseña caducada en el portátil
Date: Thu, 14 Mar 2024 14:00:00 +0100
Message-ID: <8bit-header-20240314140000@example.es>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
"""
    return message(head, text.encode('utf-8'), head_charset='utf-8')


# ---------------------------------------------------------------------------------------- damage

def broken_no_from():
    text = """The scanner on floor 2 sends empty PDF files since this morning's update.
The scans of one page are fine; two pages or more come out empty.
"""
    html = """<p>The scanner on floor 2 sends empty PDF files since this morning's update.<br>
The scans of one page are fine; two pages or more come out empty.</p>
"""
    head = """To: desk@example.com
Subject: Scanner sends empty PDFs
Date: Thu, 14 Mar 2024 14:30:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b0undary-scan"
"""
    # no From, no Message-ID, an invalid Content-Transfer-Encoding and no closing boundary
    body = (b'--b0undary-scan\n'
            b'Content-Type: text/plain; charset=us-ascii\n'
            b'Content-Transfer-Encoding: 7-bit\n\n' + text.encode('ascii') + b'\n'
            b'--b0undary-scan\n'
            b'Content-Type: text/html; charset=us-ascii\n\n' + html.encode('ascii'))
    return message(head, body)


def cr_only():
    text = """Hello,

the label printer in the mail room prints every label twice since yesterday.

Thank you,
Peter Holm
"""
    head = """From: Peter Holm <peter.holm@example.com>
To: desk@example.com
Subject: Label printer prints twice
Date: Thu, 14 Mar 2024 15:00:00 +0100
Message-ID: <cr-only-20240314150000@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
X-Mailer: Eudora Pro 4.2
"""
    return message(head, text.encode('ascii'), b'\r')


ORIGINAL = b"""Received: from desk.example.com (desk.example.com [192.0.2.20])
	by mx.example.com (Postfix) with ESMTPS id 4TvQ1X2Y3Z
	for <former.employee@example.net>; Thu, 14 Mar 2024 15:29:58 +0000 (UTC)
From: Service Desk <desk@example.com>
To: former.employee@example.net
Subject: [INC-000560] Your laptop return
Date: Thu, 14 Mar 2024 15:29:57 +0000
Message-ID: <inc-000560-3@desk.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello,

please return your laptop to the service desk before Friday.

Service Desk
"""
DSN = b"""Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4TvQ1X2Y3Z
X-Postfix-Sender: rfc822; desk@example.com
Arrival-Date: Thu, 14 Mar 2024 15:29:58 +0000 (UTC)

Final-Recipient: rfc822; former.employee@example.net
Original-Recipient: rfc822;former.employee@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.net
Diagnostic-Code: smtp; 550 5.1.1 <former.employee@example.net>: Recipient
    address rejected: User unknown in virtual mailbox table
"""


def bounce():
    text = """This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

                   The mail system

<former.employee@example.net>: host mail.example.net[192.0.2.10] said: 550
    5.1.1 <former.employee@example.net>: Recipient address rejected: User
    unknown in virtual mailbox table (in reply to RCPT TO command)
"""
    head = """Return-Path: <>
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: desk@example.com
Auto-Submitted: auto-replied
Date: Thu, 14 Mar 2024 15:30:01 +0000 (UTC)
Message-Id: <20240314153001.5A6B7C8D9E@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="5A6B7C8D9E.1710430201/mx.example.com"
"""
    body = (b'This is a MIME-encapsulated message.\n\n'
            b'--5A6B7C8D9E.1710430201/mx.example.com\n'
            b'Content-Description: Notification\n'
            b'Content-Type: text/plain; charset=us-ascii\n\n' + text.encode('ascii') + b'\n'
            b'--5A6B7C8D9E.1710430201/mx.example.com\n'
            b'Content-Description: Delivery report\n'
            b'Content-Type: message/delivery-status\n\n' + DSN + b'\n'
            b'--5A6B7C8D9E.1710430201/mx.example.com\n'
            b'Content-Description: Undelivered Message\n'
            b'Content-Type: message/rfc822\n\n' + ORIGINAL + b'\n'
            b'--5A6B7C8D9E.1710430201/mx.example.com--\n')
    return message(head, body)


def bmp(width, height):
    """An uncompressed 24-bit screenshot as some scanning and capture programs still save it: a
    white window with grey bands (title bar, a dialog, a status bar)."""
    row = width * 3
    pixels = bytearray()
    for y in range(height):  # bottom-up
        grey = y < 24 or 180 <= y < 300 or y >= height - 30
        pixels += (b'\xe0\xe0\xe0' if grey else b'\xff\xff\xff') * width + b'\0' * (-row % 4)
    info = struct.pack('<IiiHHIIiiII', 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b'BM' + struct.pack('<IHHI', 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


SCREENSHOT = bmp(800, 450)


def large():
    text = """Hello,

the scanning program stops with an error window when I scan more than ten pages. The screenshot
is attached (the program saves BMP files only, sorry for the size).

Marc
"""
    head = """From: Marc Olsen <marc.olsen@example.com>
To: desk@example.com
Subject: Scanning program stops after ten pages
Date: Thu, 14 Mar 2024 16:00:00 +0100
Message-ID: <scan-20240314160000@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="scan-4471"
"""
    body = (b'--scan-4471\n'
            b'Content-Type: text/plain; charset=us-ascii\n\n' + text.encode('ascii') + b'\n'
            b'--scan-4471\n'
            b'Content-Type: image/bmp; name="screenshot.bmp"\n'
            b'Content-Disposition: attachment; filename="screenshot.bmp"\n'
            b'Content-Transfer-Encoding: base64\n\n' + b64(SCREENSHOT, b'\n') + b'\n'
            b'--scan-4471--\n')
    return message(head, body, b'\r\n')


MESSAGES = {
    'outlook-reply-es': outlook_reply_es,
    'gmail-reply': gmail_reply,
    'apple-reply': apple_reply,
    'thunderbird-reply': thunderbird_reply,
    'forward': forward,
    'html-only-koi8r': html_only_koi8r,
    'related-inline-image': related_inline_image,
    'nested-rfc822': nested_rfc822,
    'digest': digest,
    'calendar': calendar,
    'uuencode': uuencode,
    'signed': signed,
    'encrypted': encrypted,
    'iso-2022-jp': iso_2022_jp,
    'shift-jis': shift_jis,
    'gb2312': gb2312,
    'big5': big5,
    'windows-1251': windows_1251,
    'utf-7': utf_7,
    'unknown-charset': unknown_charset,
    '8bit-header': eight_bit_header,
    'broken-no-from': broken_no_from,
    'cr-only': cr_only,
    'bounce': bounce,
    'large': large,
}

if __name__ == '__main__':
    for name, make in MESSAGES.items():
        data = make()
        with open(os.path.join(HERE, name + '.eml'), 'wb') as f:
            f.write(data)
        print('%-22s %8d %s' % (name + '.eml', len(data), hashlib.sha256(data).hexdigest()[:16]))
